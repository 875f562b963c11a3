import { z } from 'zod'
import type { ConnectionState, EngineErrorInfo, TransportType } from './engine'
import { ErrorCode } from './errors'
import type { InvokeChannel, IpcEventName, IpcEvents } from './ipcChannels'

export * from './ipcChannels'

/**
 * The one IPC contract between the renderer and Electron main (STYLE.md "IPC"): an invoke map (channel →
 * argument schema + result type) and an event map. Main validates every argument against `args`; the
 * preload exposes one function per channel and one `on`. Binary media does not travel here: it goes over a
 * MessagePort (later work), so the frame events are left out of the event map.
 */

/** A result type carried by the spec only as a type; `args` is the runtime part. */
export interface InvokeSpec<Args extends z.ZodTuple, Result> {
  args: Args
  readonly result?: Result
}

const invoke =
  <Result>() =>
  <Args extends z.ZodTuple>(args: Args): InvokeSpec<Args, Result> => ({ args })

const transportType = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
/** The engine checks the details (characters, uid 0 with a proxy → 414); this is the shape at the boundary. */
const token = z.string().max(4096)
const channel = z.string().min(1).max(64)
const uid = z.int().min(0).max(Number.MAX_SAFE_INTEGER)
const regionChoice = z.string().min(1).max(64)

export interface AppSettings {
  cloudProxy: TransportType
  connectionState: ConnectionState
}

/** `satisfies` refuses both a missing channel and one not named in ipcChannels.ts. */
export const INVOKE_CONTRACT = {
  setCloudProxy: invoke<number>()(z.tuple([transportType])),
  setRegion: invoke<number>()(z.tuple([regionChoice])),
  joinChannel: invoke<number>()(z.tuple([token, channel, uid])),
  leaveChannel: invoke<number>()(z.tuple([])),
  enableLocalAudio: invoke<number>()(z.tuple([z.boolean()])),
  enableLocalVideo: invoke<number>()(z.tuple([z.boolean()])),
  getSettings: invoke<AppSettings>()(z.tuple([])),
} satisfies Record<InvokeChannel, InvokeSpec<z.ZodTuple, unknown>>

export type InvokeArgs<C extends InvokeChannel> = z.infer<(typeof INVOKE_CONTRACT)[C]['args']>
export type InvokeResult<C extends InvokeChannel> =
  (typeof INVOKE_CONTRACT)[C] extends InvokeSpec<z.ZodTuple, infer R> ? R : never

/** What crosses the wire for an invoke: Electron flattens thrown errors to a string, so failures are data. */
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: EngineErrorInfo }

/** An argument that does not match the contract: 414, refused before the engine sees it. */
export class IpcArgumentError extends Error {
  readonly code = ErrorCode.RequestParameter
  readonly channel: InvokeChannel
  readonly detail: string

  constructor(channel: InvokeChannel, detail: string) {
    super(`invalid arguments for ${channel}: ${detail}`)
    this.name = 'IpcArgumentError'
    this.channel = channel
    this.detail = detail
  }

  toInfo(): EngineErrorInfo {
    return { code: this.code, message: this.message, detail: this.detail }
  }
}

/** Validates raw arguments against the channel's schema; throws IpcArgumentError. */
export function parseInvokeArgs<C extends InvokeChannel>(name: C, raw: readonly unknown[]): InvokeArgs<C> {
  const result = INVOKE_CONTRACT[name].args.safeParse(raw)
  if (!result.success) {
    const detail = result.error.issues.map((issue) => `[${issue.path.join('.')}] ${issue.message}`).join('; ')
    throw new IpcArgumentError(name, detail)
  }
  return result.data as InvokeArgs<C>
}

/** `window.pinhole`: one function per invoke channel, plus `on`, which returns its unsubscribe. */
export type PinholeApi = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => Promise<IpcReply<InvokeResult<C>>>
} & {
  on<E extends IpcEventName>(event: E, listener: (...args: IpcEvents[E]) => void): () => void
}
