import { beforeEach, describe, expect, it, vi } from 'vitest'
import { INVOKE_CHANNELS, MEDIA_PORT_WIRE_CHANNEL, eventWireChannel, invokeWireChannel } from '../shared/ipc'
import { MEDIA_PORT_MESSAGE } from '../shared/mediaPort'

/** The preload runs against a fake `electron`: what it hands to contextBridge is the whole page API. */
const bridge = vi.hoisted(() => {
  type Listener = (event: unknown, ...args: unknown[]) => void
  return {
    exposed: new Map<string, unknown>(),
    listeners: new Map<string, Set<Listener>>(),
    invoke: vi.fn((..._args: unknown[]) => Promise.resolve({ ok: true, value: 0 })),
  }
})

vi.mock('electron', () => ({
  contextBridge: {
    exposeInMainWorld: (key: string, api: unknown) => bridge.exposed.set(key, api),
  },
  ipcRenderer: {
    invoke: bridge.invoke,
    on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      const set = bridge.listeners.get(channel) ?? new Set()
      set.add(listener)
      bridge.listeners.set(channel, set)
    },
    removeListener: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => {
      bridge.listeners.get(channel)?.delete(listener)
    },
  },
}))

type Api = Record<string, (...args: unknown[]) => unknown>

async function loadApi(): Promise<Api> {
  await import('./index')
  return bridge.exposed.get('pinhole') as Api
}

describe('preload bridge', () => {
  beforeEach(() => bridge.invoke.mockClear())

  it('exposes only window.pinhole: one function per channel plus on, never ipcRenderer', async () => {
    const api = await loadApi()
    expect([...bridge.exposed.keys()]).toEqual(['pinhole'])
    expect(Object.keys(api).sort()).toEqual([...INVOKE_CHANNELS, 'on'].sort())
    for (const value of Object.values(api)) expect(typeof value).toBe('function')
  })

  it.each([
    ['joinChannel', ['t', 'room', 3]],
    ['setCloudProxy', [1]],
    ['getSettings', []],
  ] as const)('%s invokes its own wire channel', async (name, args) => {
    const api = await loadApi()
    await api[name]?.(...args)
    expect(bridge.invoke).toHaveBeenCalledWith(invokeWireChannel(name), ...args)
  })

  it('on delivers the event arguments without the IpcRendererEvent, and unsubscribes', async () => {
    const api = await loadApi()
    const received: unknown[][] = []
    const off = api['on']?.('userJoined', (...args: unknown[]) => received.push(args)) as () => void
    const channel = eventWireChannel('userJoined')
    for (const listener of bridge.listeners.get(channel) ?? []) listener({ sender: 'secret' }, 9)
    off()
    expect(bridge.listeners.get(channel)?.size).toBe(0)
    expect(received).toEqual([[9]])
  })

  it('refuses an event outside the contract', async () => {
    const api = await loadApi()
    expect(() => api['on']?.('remoteVideoFrame', () => undefined)).toThrow(TypeError)
  })

  it('posts the media port main sends on to the page, as the contract says, and nothing else', async () => {
    await loadApi()
    const postMessage = vi.fn()
    vi.stubGlobal('postMessage', postMessage)
    try {
      const port = { fake: 'MessagePort' }
      const listeners = [...(bridge.listeners.get(MEDIA_PORT_WIRE_CHANNEL) ?? [])]
      expect(listeners).toHaveLength(1)
      listeners[0]?.({ ports: [port], sender: 'secret' })
      listeners[0]?.({ ports: [] })
      expect(postMessage.mock.calls).toEqual([[{ type: MEDIA_PORT_MESSAGE }, '*', [port]]])
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
