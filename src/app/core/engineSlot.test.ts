import { describe, expect, it } from 'vitest'
import { type Engine, TypedEmitter } from '../../engine'
import type { EngineEvents } from '../../shared/engine'
import { EngineSlot } from './engineSlot'

/** Only the engine's events matter here: the slot wires listeners and nothing else at construction. */
function eventsOnlyEngine(): { engine: Engine; emitter: TypedEmitter<EngineEvents> } {
  const emitter = new TypedEmitter<EngineEvents>()
  return { engine: emitter as unknown as Engine, emitter }
}

describe('EngineSlot: what the media bridge hears', () => {
  it.each([
    ['sendTargetChanged', [{ bitrateBps: 300_000, lossFraction: 0.05, rttMs: 40 }]],
    ['keyFrameRequested', []],
    ['remoteAudioFrame', [{ uid: 7, data: new Uint8Array([1]), timestampUs: 20_000, keyFrame: true }]],
  ] as const)('%s reaches the bridge, from the engine now in the slot', (name, args) => {
    const first = eventsOnlyEngine()
    const slot = new EngineSlot(first.engine)
    const heard: unknown[][] = []
    slot.media.on(name, (...got: unknown[]) => void heard.push(got))
    // One row per event: its arguments are that event's, which the table's union type cannot say.
    const emit = first.emitter.emit.bind(first.emitter) as (event: string, ...rest: unknown[]) => boolean
    emit(name, ...args)
    expect(heard).toEqual([args])
  })
})
