import { ConnectionReason, type EngineEvents } from '../../shared/engine'
import { MEDIA_KINDS, type LeaveReason, type MediaKind, type ParticipantInfo } from '../../shared/signaling'

/**
 * Who else is in the channel and what they publish, from signaling (`joined.participants`, `userJoined`,
 * `userLeft`, `trackPublished`, `trackUnpublished`), turned into the engine's events. Idempotent: a
 * repeated message emits nothing. After a rejoin, `reset` emits only the difference with what the app
 * already knows.
 */

type Emit = <K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => void

/** Signaling leave reasons → NERTC reasons (docs/sfu.md). */
export const LEAVE_REASONS: Record<LeaveReason, ConnectionReason> = {
  leave: ConnectionReason.LeaveChannel,
  timeout: ConnectionReason.Timeout,
  serverKicked: ConnectionReason.ServerKicked,
  channelClosed: ConnectionReason.ChannelClosed,
  serverShutdown: ConnectionReason.ChannelClosed,
}

const START = { audio: 'userAudioStart', video: 'userVideoStart', screen: 'userSubStreamVideoStart' } as const
const STOP = { audio: 'userAudioStop', video: 'userVideoStop', screen: 'userSubStreamVideoStop' } as const

export class Presence {
  private readonly users = new Map<number, Set<MediaKind>>()

  constructor(private readonly emit: Emit) {}

  has(uid: number): boolean {
    return this.users.has(uid)
  }

  /** Everyone else, as of a `joined`; users the app knew and who are gone are reported as timed out. */
  reset(participants: readonly ParticipantInfo[]): void {
    const present = new Set(participants.map((p) => p.uid))
    for (const uid of [...this.users.keys()]) if (!present.has(uid)) this.left(uid, 'timeout')
    for (const participant of participants) {
      this.joined(participant.uid, participant.displayName)
      const kinds = new Set(participant.tracks.map((t) => t.kind))
      for (const kind of MEDIA_KINDS) this.track(participant.uid, kind, kinds.has(kind))
    }
  }

  /** `displayName`: the name the user joined with (signaling), passed on with `userJoined` when given. */
  joined(uid: number, displayName?: string): void {
    if (this.users.has(uid)) return
    this.users.set(uid, new Set())
    if (displayName === undefined) this.emit('userJoined', uid)
    else this.emit('userJoined', uid, displayName)
  }

  left(uid: number, reason: LeaveReason): void {
    const kinds = this.users.get(uid)
    if (!kinds) return
    for (const kind of kinds) this.emit(STOP[kind], uid)
    this.users.delete(uid)
    this.emit('userLeft', uid, LEAVE_REASONS[reason])
  }

  track(uid: number, kind: MediaKind, published: boolean): void {
    if (published) this.joined(uid)
    const kinds = this.users.get(uid)
    if (!kinds || kinds.has(kind) === published) return
    if (published) kinds.add(kind)
    else kinds.delete(kind)
    this.emit(published ? START[kind] : STOP[kind], uid)
  }
}
