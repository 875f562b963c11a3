import { EngineError, ErrorCode } from '../shared/errors'
import {
  INVOKE_CHANNELS,
  IPC_EVENTS,
  eventWireChannel,
  invokeWireChannel,
  type IpcEventName,
  type IpcEvents,
  type IpcReply,
} from '../shared/ipc'
import type { AppCore } from '../app'

/** The part of Electron's `ipcMain` used here, so tests inject a fake. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

/** Where events go: the window's webContents.send, or a fake. */
export type EventSink = (channel: string, ...args: unknown[]) => void

/** What the handlers need of a core (src/app/core/appCore.ts). */
export type HandlerCore = Pick<AppCore, 'invoke' | 'on'>

/**
 * Finds the core of the window that sent an invoke (`event.sender`); undefined for a sender that is not
 * one of ours, which gets InvalidState and reaches no engine.
 */
export type CoreResolver = (event: unknown) => HandlerCore | undefined

const NO_CORE: IpcReply<never> = {
  ok: false,
  error: new EngineError(ErrorCode.InvalidState, 'this page has no Pinhole window').toInfo(),
}

/**
 * Registers exactly one handler per contract channel; each validates its arguments in the sender's core
 * (src/app/core/dispatch.ts) before anything runs. Returns the undo.
 */
export function registerHandlers(ipc: IpcMainLike, coreFor: CoreResolver): () => void {
  for (const name of INVOKE_CHANNELS) {
    ipc.handle(invokeWireChannel(name), (event, ...raw) => {
      const core = coreFor(event)
      return core ? core.invoke(name, raw) : Promise.resolve(NO_CORE)
    })
  }
  return () => {
    for (const name of INVOKE_CHANNELS) ipc.removeHandler(invokeWireChannel(name))
  }
}

/** Forwards every contract event of `core` to `send` (its window). Returns the undo. */
export function forwardEvents(core: HandlerCore, send: EventSink): () => void {
  const undo = IPC_EVENTS.map((name) => forward(core, name, send))
  return () => undo.forEach((off) => off())
}

function forward<E extends IpcEventName>(core: HandlerCore, name: E, send: EventSink): () => void {
  return core.on(name, (...args: IpcEvents[E]) => send(eventWireChannel(name), ...args))
}

/** The shape of Electron's IpcMainInvokeEvent that routing needs. */
export interface InvokeEventLike {
  sender: { id: number; mainFrame: unknown }
  senderFrame: unknown
}

/**
 * Routes by the sending webContents; only its main frame may call (a subframe, which the CSP forbids
 * anyway, gets no core).
 */
export function coreByWebContents(cores: ReadonlyMap<number, HandlerCore>): CoreResolver {
  return (event) => {
    const { sender, senderFrame } = event as InvokeEventLike
    if (senderFrame === null || senderFrame !== sender.mainFrame) return undefined
    return cores.get(sender.id)
  }
}
