import { describe, expect, it } from 'vitest'
import {
  INITIAL_CALL_STATE,
  step,
  type CallAction,
  type CallInput,
  type CallPhase,
  type CallState,
} from './callMachine'

const PHASES: CallPhase[] = ['joining', 'connected', 'reconnecting', 'closed']

const INPUTS: Record<string, CallInput> = {
  joined: { type: 'joined' },
  signalLost: { type: 'lost', path: 'signal' },
  mediaLost: { type: 'lost', path: 'media' },
  serverKicked: { type: 'kicked', serverKicked: true },
  channelClosed: { type: 'kicked', serverKicked: false },
  rejoinAsked: { type: 'rejoinAsked' },
  mediaReplaced: { type: 'mediaReplaced' },
  resumedWithoutMedia: { type: 'resumedWithoutMedia' },
  attemptFailed: { type: 'attemptFailed' },
  moved: { type: 'moved' },
  rejoined: { type: 'rejoined' },
  endedKicked: { type: 'ended', kicked: true },
  endedFailed: { type: 'ended', kicked: false },
  close: { type: 'close' },
}
type InputName = keyof typeof INPUTS

const abort = (cause: 'signalLost' | 'mediaLost' | 'kicked'): CallAction => ({ type: 'abortAttempt', cause })
const report = (
  event: 'signalLost' | 'mediaLost' | 'reDispatch' | 'kicked' | 'channelClosed' | 'failed',
): CallAction => ({
  type: 'report',
  event,
})
const shutdown: CallAction = { type: 'shutdown' }
const reconnect: CallAction = { type: 'reconnect' }

/**
 * The specification, written out independently of the implementation: the phase after each input and the
 * actions, in order. Flags (mediaBroken, reDispatched) are checked below. A pair not listed leaves the phase
 * as it is and does nothing.
 */
const CHANGES: [from: CallPhase, input: InputName, to: CallPhase, actions: CallAction[]][] = [
  ['joining', 'joined', 'connected', []],
  ['joining', 'signalLost', 'joining', [abort('signalLost')]],
  ['joining', 'mediaLost', 'joining', [abort('mediaLost')]],
  ['reconnecting', 'signalLost', 'reconnecting', [abort('signalLost')]],
  ['reconnecting', 'mediaLost', 'reconnecting', [abort('mediaLost')]],
  ['connected', 'signalLost', 'reconnecting', [report('signalLost'), reconnect]],
  ['connected', 'mediaLost', 'reconnecting', [report('mediaLost'), reconnect]],
  // The server moves us (its node drains): a full rejoin, reported as reDispatch, never a kick.
  ['joining', 'rejoinAsked', 'joining', [abort('signalLost')]],
  ['reconnecting', 'rejoinAsked', 'reconnecting', [abort('signalLost')]],
  ['connected', 'rejoinAsked', 'reconnecting', [report('reDispatch'), reconnect]],
  ['joining', 'serverKicked', 'joining', [abort('kicked')]],
  ['joining', 'channelClosed', 'joining', [abort('kicked')]],
  ['connected', 'serverKicked', 'closed', [shutdown, report('kicked')]],
  ['connected', 'channelClosed', 'closed', [shutdown, report('channelClosed')]],
  ['reconnecting', 'serverKicked', 'closed', [shutdown, report('kicked')]],
  ['reconnecting', 'channelClosed', 'closed', [shutdown, report('channelClosed')]],
  ['reconnecting', 'rejoined', 'connected', [{ type: 'report', event: 'rejoined', reDispatched: false }]],
  ...PHASES.flatMap((from): typeof CHANGES => [
    [from, 'endedKicked', 'closed', [shutdown, report('kicked')]],
    [from, 'endedFailed', 'closed', [shutdown, report('failed')]],
    [from, 'close', 'closed', [shutdown]],
  ]),
]

const inState = (phase: CallPhase, flags: Partial<CallState> = {}): CallState => ({
  ...INITIAL_CALL_STATE,
  phase,
  ...flags,
})

describe('call machine', () => {
  it('starts joining, with media whole and no region move', () => {
    expect(INITIAL_CALL_STATE).toEqual({ phase: 'joining', mediaBroken: false, reDispatched: false })
  })

  for (const from of PHASES) {
    for (const name of Object.keys(INPUTS) as InputName[]) {
      const listed = CHANGES.find(([f, i]) => f === from && i === name)
      const [, , to, actions] = listed ?? [from, name, from, []]
      it(`${from} + ${name} → ${to}${actions.length ? `: ${actions.map((a) => a.type).join(', ')}` : ''}`, () => {
        const result = step(inState(from), INPUTS[name]!)
        expect(result.state.phase).toBe(to)
        expect(result.actions).toEqual(actions)
      })
    }
  }

  it('a media loss, a resume without media, a failed attempt and a move each make the next attempt a full rejoin', () => {
    for (const name of [
      'mediaLost',
      'resumedWithoutMedia',
      'attemptFailed',
      'moved',
      'rejoinAsked',
    ] as const) {
      expect(step(inState('reconnecting'), INPUTS[name]!).state.mediaBroken, name).toBe(true)
    }
    expect(step(inState('connected'), INPUTS.mediaLost!).state.mediaBroken).toBe(true)
    expect(step(inState('connected'), INPUTS.rejoinAsked!).state.mediaBroken).toBe(true)
    // A signaling loss alone keeps the PeerConnection: the next attempt resumes.
    expect(step(inState('connected'), INPUTS.signalLost!).state.mediaBroken).toBe(false)
  })

  it('a new PeerConnection makes media whole again', () => {
    expect(
      step(inState('reconnecting', { mediaBroken: true }), INPUTS.mediaReplaced!).state.mediaBroken,
    ).toBe(false)
  })

  it('a move to another region counts only while reconnecting, and the rejoin reports it once', () => {
    expect(step(inState('connected'), INPUTS.moved!).state).toEqual(inState('connected'))
    const moved = step(inState('reconnecting'), INPUTS.moved!).state
    expect(moved).toEqual(inState('reconnecting', { mediaBroken: true, reDispatched: true }))
    const rejoined = step(moved, INPUTS.rejoined!)
    expect(rejoined.actions).toEqual([{ type: 'report', event: 'rejoined', reDispatched: true }])
    expect(rejoined.state.reDispatched).toBe(false)
  })

  it('a move by the server (rejoin) ends Connected with rejoinSucceed: no region move is reported', () => {
    const asked = step(inState('connected'), INPUTS.rejoinAsked!).state
    expect(asked).toEqual(inState('reconnecting', { mediaBroken: true }))
    const rejoined = step(asked, INPUTS.rejoined!)
    expect(rejoined.actions).toEqual([{ type: 'report', event: 'rejoined', reDispatched: false }])
  })

  it('a loss after close changes no phase and does nothing', () => {
    const closed = inState('closed')
    for (const name of ['signalLost', 'mediaLost', 'serverKicked', 'rejoined', 'joined'] as const) {
      const result = step(closed, INPUTS[name]!)
      expect(result.state.phase, name).toBe('closed')
      expect(result.actions, name).toEqual([])
    }
  })
})
