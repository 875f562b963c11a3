import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionState } from '../shared/engine'
import type { AppSettings } from '../shared/ipc'
import { createAppStore } from './state/store'
import { watchJoinForm, WARM_DELAY_MS } from './warmJoin'

const settings = (embedded: boolean): AppSettings =>
  ({
    cloudProxy: 1,
    allowedProxyModes: [0, 1, 2, 3],
    activeCloudProxy: null,
    region: 'sh',
    regions: [],
    connectionState: ConnectionState.Disconnected,
    channel: '',
    uid: 0,
    embedded,
    locked: [],
    devices: {},
    notes: [],
  }) as AppSettings

function setup(embedded = false) {
  const store = createAppStore()
  const asked: [string, string, number][] = []
  const stop = watchJoinForm(store, (...join) => asked.push(join))
  const s = store.getState()
  s.setSettings(settings(embedded))
  const fill = (channel: string, uid: string, token: string): void => {
    store.getState().setField('channel', channel)
    store.getState().setField('uid', uid)
    store.getState().setField('token', token)
  }
  return { store, asked, stop, fill }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('watchJoinForm (warm join)', () => {
  it('asks once for the join the form holds, after it stood still', () => {
    const { store, asked, stop, fill } = setup()
    fill('room-1', '42', 'tok')
    vi.advanceTimersByTime(WARM_DELAY_MS - 1)
    expect(asked).toEqual([])
    vi.advanceTimersByTime(1)
    expect(asked).toEqual([['tok', 'room-1', 42]])
    // Other state changes ask nothing more.
    store.getState().setDisplayName('Li')
    vi.advanceTimersByTime(WARM_DELAY_MS * 4)
    expect(asked).toHaveLength(1)
    stop()
  })

  it('typing puts it off; only what the form ends with is asked for', () => {
    const { asked, stop, fill } = setup()
    fill('room-1', '42', 't')
    vi.advanceTimersByTime(WARM_DELAY_MS / 2)
    fill('room-1', '42', 'tok')
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(asked).toEqual([['tok', 'room-1', 42]])
    stop()
  })

  it('nothing for a form Join would refuse, without a token, or with the embedded stack', () => {
    const plain = setup()
    plain.fill('room-1', '0', 'tok') // uid 0 with a proxy: 414
    plain.fill('room/1', '42', 'tok')
    vi.advanceTimersByTime(WARM_DELAY_MS)
    plain.fill('room-1', '42', '')
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(plain.asked).toEqual([])
    plain.stop()
    const embedded = setup(true)
    embedded.fill('room-1', '42', 'tok')
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(embedded.asked).toEqual([])
    embedded.stop()
  })

  it('not in a call; back at the form after it, asks again', () => {
    const { store, asked, stop, fill } = setup()
    fill('room-1', '42', 'tok')
    vi.advanceTimersByTime(WARM_DELAY_MS)
    store.setState({ connectionState: ConnectionState.Connected })
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(asked).toHaveLength(1)
    store.setState({ connectionState: ConnectionState.Disconnected })
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(asked).toEqual([
      ['tok', 'room-1', 42],
      ['tok', 'room-1', 42],
    ])
    stop()
  })

  it('stops with its unsubscribe: a pending ask does not go', () => {
    const { asked, stop, fill } = setup()
    fill('room-1', '42', 'tok')
    stop()
    vi.advanceTimersByTime(WARM_DELAY_MS)
    expect(asked).toEqual([])
  })
})
