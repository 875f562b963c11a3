import { systemClock, type Clock } from '../../platform/clock'
import { SignalErrorCode } from '../../shared/codes'
import { SfuError } from '../errors'

/**
 * Offer/answer sequencing for one PeerConnection (docs/sfu.md, "Negotiation"). The server is the only
 * offerer, so there is no glare to resolve: changes only mark the connection dirty, and one offer is in
 * flight at a time. The next offer, covering every change made meanwhile, goes out when the answer lands.
 *
 *   idle ──request──▶ offering ──offer sent──▶ awaiting ──answer──▶ applying ──▶ idle (▶ offering if dirty)
 *                                               │  ▲ bad answer: stays awaiting (the same offer may be
 *                                               │  │ answered again, e.g. after a resume)
 *                                               └──┘ timeout: reported, stays awaiting
 */

export type NegotiationState = 'idle' | 'offering' | 'awaiting' | 'applying' | 'closed'

export interface NegotiatorIo<O> {
  /** Creates and applies the local offer numbered `seq`; returns the message to send. */
  createOffer(seq: number): Promise<O>
  applyAnswer(seq: number, sdp: string): Promise<void>
  sendOffer(offer: O): void
  /** The answer to `seq` is applied. */
  settled(seq: number): void
  timedOut(seq: number): void
  /** Creating an offer failed: the connection cannot negotiate any more. */
  failed(error: unknown): void
}

export type AnswerResult = 'applied' | 'stale'

export class Negotiator<O> {
  private stateValue: NegotiationState = 'idle'
  private seq = 0
  private dirty = false
  private outstanding: O | undefined
  private timer: unknown
  private scheduled = false

  constructor(
    private readonly io: NegotiatorIo<O>,
    private readonly timeoutMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  get state(): NegotiationState {
    return this.stateValue
  }

  /**
   * Something changed (or the client asked): make sure an offer covering it goes out. The offer is made
   * in a microtask, so that changes made in one go (a join subscribing to every track) make one offer.
   */
  request(): void {
    if (this.stateValue === 'closed') throw SfuError.closed('negotiator')
    this.dirty = true
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || !this.dirty || this.stateValue !== 'idle') return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      if (this.dirty && this.is('idle')) void this.offer()
    })
  }

  private async offer(): Promise<void> {
    this.transition('idle', 'offering')
    this.dirty = false
    const seq = ++this.seq
    let offer: O
    try {
      offer = await this.io.createOffer(seq)
    } catch (error) {
      if (this.is('closed')) return
      this.stateValue = 'closed'
      this.io.failed(error)
      return
    }
    if (this.is('closed')) return
    this.transition('offering', 'awaiting')
    this.outstanding = offer
    this.arm(seq)
    this.io.sendOffer(offer)
  }

  /**
   * Applies the answer to the outstanding offer. A `seq` other than the outstanding one is `stale` (it
   * answers an offer that has been superseded or never existed). An answer that cannot be applied throws
   * `negotiation_failed` and leaves the offer outstanding.
   */
  async handleAnswer(seq: number, sdp: string): Promise<AnswerResult> {
    if (this.stateValue === 'closed') throw SfuError.closed('negotiator')
    if (this.stateValue !== 'awaiting' || seq !== this.seq) return 'stale'
    this.transition('awaiting', 'applying')
    this.clock.clearTimeout(this.timer)
    try {
      await this.io.applyAnswer(seq, sdp)
    } catch (error) {
      if (this.is('closed')) throw SfuError.closed('negotiator')
      this.transition('applying', 'awaiting')
      this.arm(seq)
      throw SfuError.signal(SignalErrorCode.NegotiationFailed, 'answer could not be applied', error)
    }
    if (this.is('closed')) throw SfuError.closed('negotiator')
    this.outstanding = undefined
    this.transition('applying', 'idle')
    this.io.settled(seq)
    this.schedule()
    return 'applied'
  }

  /** The offer still waiting for its answer (to send again to a resumed connection); re-arms its timer. */
  resend(): O | undefined {
    if (this.stateValue !== 'awaiting' || this.outstanding === undefined) return undefined
    this.arm(this.seq)
    return this.outstanding
  }

  close(): void {
    this.stateValue = 'closed'
    this.clock.clearTimeout(this.timer)
    this.outstanding = undefined
  }

  private arm(seq: number): void {
    this.clock.clearTimeout(this.timer)
    this.timer = this.clock.setTimeout(() => {
      if (this.stateValue === 'awaiting' && this.seq === seq) this.io.timedOut(seq)
    }, this.timeoutMs)
  }

  /** A method, not a field read: the state changes across awaits, and TypeScript must not narrow it. */
  private is(state: NegotiationState): boolean {
    return this.stateValue === state
  }

  private transition(from: NegotiationState, to: NegotiationState): void {
    if (this.stateValue !== from) throw new Error(`negotiator: ${this.stateValue} → ${to}, expected ${from}`)
    this.stateValue = to
  }
}
