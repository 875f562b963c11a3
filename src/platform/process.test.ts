import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { errorMessage, onStopSignals } from './process'

describe('onStopSignals', () => {
  it('hears SIGTERM and SIGINT, nothing else, until unsubscribed', () => {
    const signals = new EventEmitter()
    const heard: NodeJS.Signals[] = []
    const off = onStopSignals(signals, (signal) => heard.push(signal))
    signals.emit('SIGTERM', 'SIGTERM')
    signals.emit('SIGHUP', 'SIGHUP')
    signals.emit('SIGINT', 'SIGINT')
    off()
    signals.emit('SIGTERM', 'SIGTERM')
    expect(heard).toEqual(['SIGTERM', 'SIGINT'])
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0)
  })
})

describe('errorMessage', () => {
  it.each([
    [new Error('port in use'), 'port in use'],
    [new TypeError('bad'), 'bad'],
    ['plain text', 'plain text'],
    [42, '42'],
    [undefined, 'undefined'],
  ])('%s → %s', (thrown, message) => {
    expect(errorMessage(thrown)).toBe(message)
  })
})
