import type { Logger } from 'pino'
import type { Clock } from '../../platform/clock'
import type {
  KickReason,
  LeaveReason,
  MediaKind,
  ParticipantInfo,
  ServerMessageBody,
  VideoKind,
} from '../../shared/signaling'
import type { SfuConfig } from '../config'
import { SfuError } from '../errors'
import type { SfuMetrics } from '../metrics'
import { Participant, type ParticipantState, type SignalPort } from './participant'
import type { Track } from '../media/track'

/**
 * Who a channel is: its app and its name. Two apps may use the same name; they are two channels that never
 * meet (each app is a separate tenant, as an appId is in NERTC or a project in LiveKit).
 */
export interface ChannelId {
  appKey: string
  name: string
}

/** The admin view of a channel (what tests and operators read; no private fields needed). */
export interface ChannelSnapshot extends ChannelId {
  participants: {
    uid: number
    state: ParticipantState
    tracks: { trackId: string; kind: MediaKind; subscribers: number }[]
    subscriptions: number
    /** The server's UDP port for this participant's media (for packet captures and firewall checks). */
    mediaPort?: number
  }[]
}

export interface ChannelDeps {
  config: SfuConfig
  metrics: SfuMetrics
  logger: Logger
  clock: Clock
  closed: (channel: Channel) => void
}

/**
 * A channel: created on first join, closed when its last participant leaves (or by an admin call, which
 * kicks everyone with `channelClosed`). uids are unique within it. It wires participants together: a
 * track one publishes is subscribed by every other participant.
 */
export class Channel {
  readonly appKey: string
  readonly name: string
  private readonly participants = new Map<number, Participant>()
  private readonly logger: Logger
  private closed = false

  constructor(
    id: ChannelId,
    private readonly deps: ChannelDeps,
  ) {
    this.appKey = id.appKey
    this.name = id.name
    this.logger = deps.logger.child({ appKey: id.appKey, channel: id.name })
  }

  /** `app/name`, for error messages (logs carry the two as fields). */
  get label(): string {
    return `${this.appKey}/${this.name}`
  }

  get isClosed(): boolean {
    return this.closed
  }

  get size(): number {
    return this.participants.size
  }

  get(uid: number): Participant | undefined {
    return this.participants.get(uid)
  }

  /**
   * Adds a participant bound to `connection`: it is told who is here (`joined`), the others are told of it
   * (`userJoined`), and its first offer carries every track already published — none when it joined with
   * `subscribe: false` (it receives nothing, ever; the others still receive its tracks).
   */
  admit(
    connection: SignalPort,
    uid: number,
    publish: Record<MediaKind, boolean>,
    options: { displayName?: string; subscribe?: boolean } = {},
  ): Participant {
    const { displayName, subscribe = true } = options
    if (this.closed) throw SfuError.closed(`channel ${this.label}`)
    if (this.participants.has(uid)) throw new Error(`uid ${uid} is already in channel ${this.label}`)
    const { config, metrics, clock } = this.deps
    const participant = new Participant({
      uid,
      publish,
      ...(displayName === undefined ? {} : { displayName }),
      subscribe,
      config,
      metrics,
      logger: this.logger,
      clock,
      hooks: {
        trackPublished: (p, track) => this.onTrackPublished(p, track),
        trackUnpublished: (p, track) => this.broadcast(trackMessage('trackUnpublished', track), p.uid),
        keyframeRequest: (target, kind) => this.requestKeyframe(target, kind),
        closed: (p, reason) => this.onParticipantClosed(p, reason),
      },
    })
    participant.attach(connection)
    const others = [...this.participants.values()]
    this.participants.set(uid, participant)
    participant.send(this.joinedMessage(participant, false))
    this.broadcast({ type: 'userJoined', uid, ...named(participant) }, uid)
    for (const other of subscribe ? others : []) {
      for (const track of other.peer.publishedTracks()) participant.peer.subscribe(track)
    }
    participant.peer.start()
    return participant
  }

  /** Binds a new connection to a participant in its grace period (or replaces a live one). */
  resume(participant: Participant, connection: SignalPort): void {
    if (this.closed) throw SfuError.closed(`channel ${this.label}`)
    participant.attach(connection)
    participant.send(this.joinedMessage(participant, true))
    participant.resendPendingOffer()
  }

  joinedMessage(participant: Participant, resumed: boolean): ServerMessageBody {
    const { config } = this.deps
    return {
      type: 'joined',
      sessionId: participant.sessionId,
      channel: this.name,
      uid: participant.uid,
      resumed,
      participants: this.infos(participant.uid),
      limits: { maxMessageBytes: config.maxMessageBytes, reconnectGraceMs: config.reconnectGraceMs },
    }
  }

  broadcast(body: ServerMessageBody, exceptUid?: number): void {
    for (const participant of this.participants.values()) {
      if (participant.uid !== exceptUid) participant.send(body)
    }
  }

  /** Kicks everyone; the channel closes when the last one is gone. */
  close(reason: Extract<KickReason, 'channelClosed' | 'serverShutdown'>): void {
    if (this.closed) return
    for (const participant of [...this.participants.values()]) {
      participant.kick(reason, reason === 'channelClosed' ? 'channel closed' : 'server shutting down')
    }
    this.finish()
  }

  /** Moves everyone off this node (`Participant.move`); the channel closes when the last one is gone. */
  move(message: string): void {
    if (this.closed) return
    for (const participant of [...this.participants.values()]) participant.move(message)
    this.finish()
  }

  snapshot(): ChannelSnapshot {
    return {
      appKey: this.appKey,
      name: this.name,
      participants: [...this.participants.values()].map((p) => ({
        uid: p.uid,
        state: p.state,
        tracks: p.peer.publishedTracks().map((t) => ({
          trackId: t.id,
          kind: t.kind,
          subscribers: t.subscriberCount,
        })),
        subscriptions: p.peer.subscriptionCount(),
        ...(p.peer.mediaPort === undefined ? {} : { mediaPort: p.peer.mediaPort }),
      })),
    }
  }

  private infos(exceptUid: number): ParticipantInfo[] {
    return [...this.participants.values()]
      .filter((p) => p.uid !== exceptUid)
      .map((p) => ({
        uid: p.uid,
        tracks: p.peer.publishedTracks().map((t) => ({ trackId: t.id, kind: t.kind })),
        ...named(p),
      }))
  }

  private onTrackPublished(publisher: Participant, track: Track): void {
    this.broadcast(trackMessage('trackPublished', track), publisher.uid)
    for (const participant of this.participants.values()) {
      if (participant.uid !== publisher.uid && participant.state !== 'closed' && participant.subscribes)
        participant.peer.subscribe(track)
    }
  }

  /** `kind`: the camera (`video`) or the shared screen; only that track's publisher is asked. */
  private requestKeyframe(uid: number, kind: VideoKind): boolean {
    const video = this.participants
      .get(uid)
      ?.peer.publishedTracks()
      .find((t) => t.kind === kind)
    video?.requestKeyframe('signal')
    return video !== undefined
  }

  private onParticipantClosed(participant: Participant, reason: LeaveReason): void {
    if (this.participants.get(participant.uid) !== participant) return
    this.participants.delete(participant.uid)
    this.deps.metrics.leaves.inc({ reason })
    this.broadcast({ type: 'userLeft', uid: participant.uid, reason })
    if (this.participants.size === 0) this.finish()
  }

  private finish(): void {
    if (this.closed || this.participants.size > 0) return
    this.closed = true
    this.logger.info('channel closed')
    this.deps.closed(this)
  }
}

function named(participant: Participant): { displayName?: string } {
  return participant.displayName === undefined ? {} : { displayName: participant.displayName }
}

function trackMessage(type: 'trackPublished' | 'trackUnpublished', track: Track): ServerMessageBody {
  return { type, uid: track.uid, trackId: track.id, kind: track.kind }
}
