import { describe, expect, it, vi } from 'vitest'
import { TypedEmitter } from '../engine'
import { ConnectionReason, ConnectionState } from '../shared/engine'
import { ErrorCode } from '../shared/errors'
import {
  INVOKE_CHANNELS,
  IPC_EVENTS,
  eventWireChannel,
  invokeWireChannel,
  type InvokeChannel,
  type IpcEvents,
  type IpcReply,
} from '../shared/ipc'
import {
  coreByWebContents,
  forwardEvents,
  registerHandlers,
  type CoreResolver,
  type HandlerCore,
  type IpcMainLike,
} from './handlers'

type Handler = (event: unknown, ...args: unknown[]) => unknown

class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Handler>()
  readonly registrations: string[] = []

  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`)
    this.registrations.push(channel)
    this.handlers.set(channel, listener)
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }

  invoke(event: unknown, name: InvokeChannel, ...args: unknown[]): Promise<IpcReply<unknown>> {
    const handler = this.handlers.get(invokeWireChannel(name))
    if (!handler) throw new Error(`no handler for ${name}`)
    return Promise.resolve(handler(event, ...args)) as Promise<IpcReply<unknown>>
  }
}

function fakeCore(): HandlerCore & { emitter: TypedEmitter<IpcEvents> } {
  const emitter = new TypedEmitter<IpcEvents>()
  return {
    emitter,
    invoke: vi.fn((name: InvokeChannel) => Promise.resolve({ ok: true as const, value: name })),
    on: vi.fn((event, listener) => {
      emitter.on(event, listener)
      return () => void emitter.off(event, listener)
    }),
  }
}

describe('registerHandlers', () => {
  it('registers exactly one handler per contract channel, and undoes them', () => {
    const ipc = new FakeIpcMain()
    const undo = registerHandlers(ipc, () => undefined)
    expect([...ipc.registrations].sort()).toEqual(INVOKE_CHANNELS.map(invokeWireChannel).sort())
    undo()
    expect(ipc.handlers.size).toBe(0)
  })

  it.each(INVOKE_CHANNELS)('%s goes to the sender’s core with the raw arguments', async (name) => {
    const ipc = new FakeIpcMain()
    const core = fakeCore()
    registerHandlers(ipc, (event) => ((event as { id: number }).id === 1 ? core : undefined))
    expect(await ipc.invoke({ id: 1 }, name, 'a', 2)).toEqual({ ok: true, value: name })
    expect(core.invoke).toHaveBeenCalledWith(name, ['a', 2])
  })

  it('a sender without a core gets InvalidState and reaches no core', async () => {
    const ipc = new FakeIpcMain()
    const core = fakeCore()
    registerHandlers(ipc, () => undefined)
    expect(await ipc.invoke({ id: 9 }, 'joinChannel', 't', 'c', 1)).toMatchObject({
      ok: false,
      error: { code: ErrorCode.InvalidState },
    })
    expect(core.invoke).not.toHaveBeenCalled()
  })
})

describe('coreByWebContents', () => {
  const main = { frame: 'main' }
  const core = fakeCore()
  const resolve: CoreResolver = coreByWebContents(new Map([[7, core]]))

  it.each([
    ['the main frame of a known window', { sender: { id: 7, mainFrame: main }, senderFrame: main }, core],
    ['a subframe', { sender: { id: 7, mainFrame: main }, senderFrame: { frame: 'sub' } }, undefined],
    ['a destroyed frame', { sender: { id: 7, mainFrame: main }, senderFrame: null }, undefined],
    ['another webContents', { sender: { id: 8, mainFrame: main }, senderFrame: main }, undefined],
  ])('%s', (_what, event, expected) => {
    expect(resolve(event)).toBe(expected)
  })
})

describe('forwardEvents', () => {
  it('forwards every contract event on its wire channel, and undoes it', () => {
    const core = fakeCore()
    const sent: unknown[][] = []
    const undo = forwardEvents(core, (channel, ...args) => sent.push([channel, ...args]))
    expect(
      vi
        .mocked(core.on)
        .mock.calls.map(([name]) => name)
        .sort(),
    ).toEqual([...IPC_EVENTS].sort())
    core.emitter.emit('connectionStateChanged', ConnectionState.Connecting, ConnectionReason.JoinChannel)
    core.emitter.emit('userJoined', 5)
    expect(sent).toEqual([
      [eventWireChannel('connectionStateChanged'), ConnectionState.Connecting, ConnectionReason.JoinChannel],
      [eventWireChannel('userJoined'), 5],
    ])
    undo()
    core.emitter.emit('userJoined', 6)
    expect(sent).toHaveLength(2)
  })
})
