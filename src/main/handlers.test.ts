import { describe, expect, it, vi } from 'vitest'
import { TypedEmitter } from '../engine/events'
import { ConnectionReason, ConnectionState, TransportType, type EngineEvents } from '../shared/engine'
import { EngineError, ErrorCode } from '../shared/errors'
import {
  INVOKE_CHANNELS,
  IPC_EVENTS,
  eventWireChannel,
  invokeWireChannel,
  type InvokeChannel,
  type IpcReply,
} from '../shared/ipc'
import { registerHandlers, type HandlerEngine, type IpcMainLike } from './handlers'

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

  invoke(name: InvokeChannel, ...args: unknown[]): Promise<IpcReply<unknown>> {
    const handler = this.handlers.get(invokeWireChannel(name))
    if (!handler) throw new Error(`no handler for ${name}`)
    return Promise.resolve(handler({}, ...args)) as Promise<IpcReply<unknown>>
  }
}

function fakeEngine(): { engine: HandlerEngine; emitter: TypedEmitter<EngineEvents> } {
  const emitter = new TypedEmitter<EngineEvents>()
  const engine: HandlerEngine = {
    on: vi.fn((event, listener) => {
      emitter.on(event, listener)
      return engine as never
    }),
    off: vi.fn((event, listener) => {
      emitter.off(event, listener)
      return engine as never
    }),
    setCloudProxy: vi.fn(() => 0),
    getCloudProxy: vi.fn(() => TransportType.UDPProxy),
    setRegion: vi.fn(() => 0),
    getConnectionState: vi.fn(() => ConnectionState.Connected),
    joinChannel: vi.fn(() => Promise.resolve(0)),
    leaveChannel: vi.fn(() => Promise.resolve(0)),
    enableLocalAudio: vi.fn(() => 0),
    enableLocalVideo: vi.fn(() => 0),
  }
  return { engine, emitter }
}

function setup() {
  const ipc = new FakeIpcMain()
  const { engine, emitter } = fakeEngine()
  const sent: unknown[][] = []
  const unregister = registerHandlers(ipc, engine, (channel, ...args) => sent.push([channel, ...args]))
  return { ipc, engine, emitter, sent, unregister }
}

describe('registerHandlers', () => {
  it('registers exactly one handler per contract channel', () => {
    const { ipc } = setup()
    expect([...ipc.registrations].sort()).toEqual(INVOKE_CHANNELS.map(invokeWireChannel).sort())
  })

  it.each([
    ['setCloudProxy', [2], 'setCloudProxy', [2], 0],
    ['setRegion', ['auto'], 'setRegion', ['auto'], 0],
    ['joinChannel', ['t', 'room', 7], 'joinChannel', ['t', 'room', 7], 0],
    ['leaveChannel', [], 'leaveChannel', [], 0],
    ['enableLocalAudio', [false], 'enableLocalAudio', [false], 0],
    ['enableLocalVideo', [true], 'enableLocalVideo', [true], 0],
  ] as const)('%s %j reaches the engine', async (channel, args, method, expected, value) => {
    const { ipc, engine } = setup()
    const reply = await ipc.invoke(channel, ...args)
    expect(reply).toEqual({ ok: true, value })
    expect(engine[method]).toHaveBeenCalledWith(...expected)
  })

  it('getSettings reads the engine', async () => {
    const { ipc } = setup()
    expect(await ipc.invoke('getSettings')).toEqual({
      ok: true,
      value: { cloudProxy: TransportType.UDPProxy, connectionState: ConnectionState.Connected },
    })
  })

  it.each([
    ['setCloudProxy', [9], 'setCloudProxy'],
    ['setRegion', [{}], 'setRegion'],
    ['joinChannel', ['t', 'room', -5], 'joinChannel'],
    ['joinChannel', ['t', 'room', '7'], 'joinChannel'],
    ['enableLocalAudio', ['on'], 'enableLocalAudio'],
    ['enableLocalVideo', [], 'enableLocalVideo'],
  ] as const)('%s %j is refused with 414 before the engine', async (channel, args, method) => {
    const { ipc, engine } = setup()
    const reply = await ipc.invoke(channel, ...args)
    expect(reply).toMatchObject({ ok: false, error: { code: ErrorCode.RequestParameter } })
    expect(engine[method]).not.toHaveBeenCalled()
  })

  it('turns an EngineError into its code and any other throw into Internal', async () => {
    const { ipc, engine } = setup()
    vi.mocked(engine.joinChannel).mockRejectedValueOnce(new EngineError(ErrorCode.InvalidState))
    expect(await ipc.invoke('joinChannel', 't', 'room', 1)).toMatchObject({
      ok: false,
      error: { code: ErrorCode.InvalidState },
    })
    vi.mocked(engine.setRegion).mockImplementationOnce(() => {
      throw new Error('bug')
    })
    expect(await ipc.invoke('setRegion', 'auto')).toMatchObject({
      ok: false,
      error: { code: ErrorCode.Internal, detail: 'bug' },
    })
  })

  it('forwards every contract event and none of the media frames', () => {
    const { emitter, sent } = setup()
    emitter.emit('connectionStateChanged', ConnectionState.Connecting, ConnectionReason.JoinChannel)
    emitter.emit('userJoined', 5)
    emitter.emit('remoteVideoFrame', { uid: 5, data: new Uint8Array(1), timestampUs: 0, keyFrame: true })
    expect(sent).toEqual([
      [eventWireChannel('connectionStateChanged'), ConnectionState.Connecting, ConnectionReason.JoinChannel],
      [eventWireChannel('userJoined'), 5],
    ])
  })

  it('subscribes once per contract event and undoes everything', () => {
    const { ipc, engine, emitter, sent, unregister } = setup()
    expect(
      vi
        .mocked(engine.on)
        .mock.calls.map(([name]) => name)
        .sort(),
    ).toEqual([...IPC_EVENTS].sort())
    unregister()
    expect(ipc.handlers.size).toBe(0)
    emitter.emit('userJoined', 1)
    expect(sent).toEqual([])
    expect(() => ipc.invoke('leaveChannel')).toThrow('no handler')
  })
})
