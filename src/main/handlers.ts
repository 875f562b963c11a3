import type { Engine } from '../engine/engine'
import type { EngineEvents } from '../shared/engine'
import { EngineError, ErrorCode } from '../shared/errors'
import {
  INVOKE_CHANNELS,
  IPC_EVENTS,
  IpcArgumentError,
  eventWireChannel,
  invokeWireChannel,
  parseInvokeArgs,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
  type IpcEventName,
  type IpcReply,
} from '../shared/ipc'

/** The part of Electron's `ipcMain` used here, so tests inject a fake. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

/** Where events go: the window's webContents.send, or a fake. */
export type EventSink = (channel: string, ...args: unknown[]) => void

export type HandlerEngine = Pick<
  Engine,
  | 'on'
  | 'off'
  | 'setCloudProxy'
  | 'getCloudProxy'
  | 'setRegion'
  | 'getConnectionState'
  | 'joinChannel'
  | 'leaveChannel'
  | 'enableLocalAudio'
  | 'enableLocalVideo'
>

type Implementations = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>
}

function implementations(engine: HandlerEngine): Implementations {
  return {
    setCloudProxy: (type) => engine.setCloudProxy(type),
    setRegion: (choice) => engine.setRegion(choice),
    joinChannel: (token, channel, uid) => engine.joinChannel(token, channel, uid),
    leaveChannel: () => engine.leaveChannel(),
    enableLocalAudio: (enabled) => engine.enableLocalAudio(enabled),
    enableLocalVideo: (enabled) => engine.enableLocalVideo(enabled),
    getSettings: () => ({
      cloudProxy: engine.getCloudProxy(),
      connectionState: engine.getConnectionState(),
    }),
  }
}

async function reply<C extends InvokeChannel>(
  impl: Implementations,
  name: C,
  raw: unknown[],
): Promise<IpcReply<InvokeResult<C>>> {
  try {
    const args = parseInvokeArgs(name, raw)
    const run = impl[name] as (...args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>
    return { ok: true, value: await run(...args) }
  } catch (error) {
    if (error instanceof IpcArgumentError || error instanceof EngineError) {
      return { ok: false, error: error.toInfo() }
    }
    // A programmer bug in the engine: report it as Internal rather than crash the main process.
    const detail = error instanceof Error ? error.message : String(error)
    return { ok: false, error: new EngineError(ErrorCode.Internal, detail, { cause: error }).toInfo() }
  }
}

/**
 * Registers exactly one handler per contract channel and forwards every contract event to `send`.
 * Returns the undo: handlers removed, engine listeners detached.
 */
export function registerHandlers(ipc: IpcMainLike, engine: HandlerEngine, send: EventSink): () => void {
  const impl = implementations(engine)
  for (const name of INVOKE_CHANNELS) {
    ipc.handle(invokeWireChannel(name), (_event, ...raw) => reply(impl, name, raw))
  }

  const detach: Array<() => void> = []
  for (const name of IPC_EVENTS) detach.push(forward(engine, name, send))

  return () => {
    for (const name of INVOKE_CHANNELS) ipc.removeHandler(invokeWireChannel(name))
    for (const undo of detach) undo()
  }
}

function forward<E extends IpcEventName>(engine: HandlerEngine, name: E, send: EventSink): () => void {
  const listener = (...args: EngineEvents[E]): void => send(eventWireChannel(name), ...args)
  engine.on(name, listener)
  return () => engine.off(name, listener)
}
