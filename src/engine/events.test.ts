import { describe, expect, it, vi } from 'vitest'
import { TypedEmitter } from './events'

type Events = { tick: [n: number]; done: [] }

describe('TypedEmitter', () => {
  it('delivers arguments to every listener in order', () => {
    const emitter = new TypedEmitter<Events>()
    const seen: string[] = []
    emitter.on('tick', (n) => seen.push(`a${n}`)).on('tick', (n) => seen.push(`b${n}`))
    expect(emitter.emit('tick', 1)).toBe(true)
    expect(emitter.emit('done')).toBe(false)
    expect(seen).toEqual(['a1', 'b1'])
  })

  it('a throwing listener reaches the error handler and does not stop the others', () => {
    const onError = vi.fn()
    const emitter = new TypedEmitter<Events>(onError)
    const after = vi.fn()
    const boom = new Error('boom')
    emitter.on('tick', () => {
      throw boom
    })
    emitter.on('tick', after)
    expect(() => emitter.emit('tick', 7)).not.toThrow()
    expect(after).toHaveBeenCalledWith(7)
    expect(onError).toHaveBeenCalledWith('tick', boom)
    emitter.emit('tick', 8)
    expect(after).toHaveBeenCalledTimes(2)
  })

  it('survives an error handler that throws too', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const emitter = new TypedEmitter<Events>(() => {
      throw new Error('handler')
    })
    const after = vi.fn()
    emitter.on('done', () => {
      throw new Error('listener')
    })
    emitter.on('done', after)
    expect(() => emitter.emit('done')).not.toThrow()
    expect(after).toHaveBeenCalledOnce()
    expect(spy).toHaveBeenCalledOnce()
    spy.mockRestore()
  })

  it('once fires once; off and removeAllListeners detach', () => {
    const emitter = new TypedEmitter<Events>()
    const once = vi.fn()
    const on = vi.fn()
    emitter.once('tick', once).on('tick', on)
    emitter.emit('tick', 1)
    emitter.emit('tick', 2)
    expect(once).toHaveBeenCalledTimes(1)
    emitter.off('tick', on)
    emitter.emit('tick', 3)
    expect(on).toHaveBeenCalledTimes(2)
    emitter.on('done', on).removeAllListeners()
    expect(emitter.listenerCount('done')).toBe(0)
  })

  it('listeners added during an emit start with the next one', () => {
    const emitter = new TypedEmitter<Events>()
    const late = vi.fn()
    emitter.on('tick', () => emitter.on('tick', late))
    emitter.emit('tick', 1)
    expect(late).not.toHaveBeenCalled()
    emitter.emit('tick', 2)
    expect(late).toHaveBeenCalledWith(2)
  })
})
