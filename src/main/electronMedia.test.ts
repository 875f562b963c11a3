import { EventEmitter } from 'node:events'
import type { MessagePortMain } from 'electron'
import { describe, expect, it, vi } from 'vitest'
import { electronMediaPort } from './electronMedia'

/** MessagePortMain's shape: an EventEmitter whose 'message' events carry `{ data, ports }`. */
class FakePortMain extends EventEmitter {
  readonly postMessage = vi.fn()
  readonly start = vi.fn()
  readonly close = vi.fn(() => void this.emit('close'))
}

describe('electronMediaPort', () => {
  it('delivers event.data, starts the port only once listening, posts without a transfer list, closes', () => {
    const fake = new FakePortMain()
    const port = electronMediaPort(fake as unknown as MessagePortMain)
    expect(fake.start).not.toHaveBeenCalled()
    const received: unknown[] = []
    port.onMessage((data) => received.push(data))
    expect(fake.start).toHaveBeenCalledTimes(1)
    fake.emit('message', { data: { kind: 'audio' }, ports: [] })
    expect(received).toEqual([{ kind: 'audio' }])

    const data = new ArrayBuffer(4)
    port.postMessage({ kind: 'remoteAudio', uid: 1, data, timestampUs: 0 }, [data])
    // MessagePortMain transfers ports only: the buffer is cloned, never listed.
    expect(fake.postMessage).toHaveBeenCalledWith({ kind: 'remoteAudio', uid: 1, data, timestampUs: 0 })

    const onClose = vi.fn()
    port.onClose(onClose)
    port.close()
    expect(onClose).toHaveBeenCalledTimes(1)
  })
})
