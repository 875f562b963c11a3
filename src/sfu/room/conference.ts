import type { Logger } from 'pino'
import { systemClock, type Clock } from '../../platform/clock'
import { SIGNAL_ERROR_MESSAGES, SignalErrorCode } from '../../shared/codes'
import type { JoinMessage } from '../../shared/signaling'
import { Channel, type ChannelId, type ChannelSnapshot } from './channel'
import type { SfuApp, SfuConfig } from '../config'
import { perKind, type SfuGaugeSource, type SfuMetrics } from '../metrics'
import type { Participant, SignalPort } from './participant'
import { checkJoin, secretLookup } from './joinCheck'

/** The connection side of a join: where the verdict goes. */
export interface JoiningConnection extends SignalPort {
  /** Refuses the join: an `error` with the code, then a close. */
  refuse(code: SignalErrorCode, message: string): void
  /** The join succeeded: route in-call messages to `participant` from now on. */
  bind(participant: Participant): void
}

export interface ConferenceDeps {
  config: SfuConfig
  apps: readonly SfuApp[]
  metrics: SfuMetrics
  logger: Logger
  /** Wall-clock milliseconds (Date.now) for token expiry. */
  now?: () => number
  /** Timers (reconnect grace, negotiation timeout, keyframe rate limit, stall watch). */
  clock?: Clock
}

/**
 * Channels and the join rules, independent of HTTP and WebSockets: token checks, uid uniqueness (a second
 * join with the same uid kicks the first, "server kicked"), resume within the grace period, limits.
 * A channel is (appKey, name): the appKey comes from the verified token, so apps sharing a server never
 * see, hear or kick each other, whatever names they pick.
 */
export class Conference {
  /** By `keyOf(id)`. */
  private readonly channels = new Map<string, Channel>()
  private readonly secretFor: (appKey: string) => string | undefined
  private drainingValue = false
  /** While draining: joins into a channel open here are still accepted (a cluster node keeps its calls whole). */
  private openChannelsWhileDraining = false
  private closed = false

  constructor(private readonly deps: ConferenceDeps) {
    this.secretFor = secretLookup(deps.apps)
  }

  get draining(): boolean {
    return this.drainingValue
  }

  /**
   * Refuse new joins from now on (resumes of present participants are still accepted). With
   * `openChannels`, only joins that would open a channel are refused: a late joiner of a call that is here
   * joins it here (a cluster node keeps its channels until it moves them, docs/scaling.md "Drain").
   */
  startDraining(options: { openChannels?: boolean } = {}): void {
    this.drainingValue = true
    this.openChannelsWhileDraining = options.openChannels === true
  }

  async join(connection: JoiningConnection, message: JoinMessage): Promise<void> {
    const { config, metrics, logger } = this.deps
    // The appKey is logged only once the token is verified: before that it is whatever the client wrote.
    const who: { appKey?: string; channel: string; uid: number } = {
      channel: message.channel,
      uid: message.uid,
    }
    const refuse = (code: SignalErrorCode, detail: string = SIGNAL_ERROR_MESSAGES[code]): void => {
      metrics.joinFailures.inc({ code })
      logger.info({ ...who, code }, 'join refused')
      connection.refuse(code, detail)
    }
    if (this.closed) return refuse(SignalErrorCode.ServerDraining)
    const verdict = await checkJoin(message, {
      apps: this.deps.apps,
      secretFor: this.secretFor,
      ...(this.deps.now ? { now: this.deps.now } : {}),
      clockToleranceSeconds: config.tokenClockToleranceSeconds,
    })
    if (!connection.isOpen) return
    if (!verdict.ok) return refuse(verdict.code, verdict.message)
    const { appKey } = verdict.claims
    who.appKey = appKey
    if (this.closed) return refuse(SignalErrorCode.ServerDraining)

    const key = keyOf({ appKey, name: message.channel })
    let channel = this.channels.get(key)
    const existing = channel?.get(message.uid)
    if (channel && existing && message.resume !== undefined && message.resume === existing.sessionId) {
      connection.bind(existing)
      channel.resume(existing, connection)
      metrics.joins.inc({ resumed: 'true' })
      return
    }
    if (this.drainingValue && !(this.openChannelsWhileDraining && channel)) {
      return refuse(SignalErrorCode.ServerDraining)
    }
    // NERTC behaviour: the newcomer wins, the participant already holding the uid is kicked.
    existing?.kick('serverKicked', 'server kicked')

    // The kick may have closed the channel (its last participant left): look it up again.
    channel = this.channels.get(key)
    if (!channel) {
      if (this.channels.size >= config.maxChannels) return refuse(SignalErrorCode.ServerFull)
      channel = this.open({ appKey, name: message.channel })
    }
    if (channel.size >= config.maxParticipants) return refuse(SignalErrorCode.ChannelFull)
    const { audio, video, screen = false } = message.capabilities
    const participant = channel.admit(
      connection,
      message.uid,
      { audio, video, screen },
      {
        ...(message.displayName === undefined ? {} : { displayName: message.displayName }),
        subscribe: message.subscribe !== false,
      },
    )
    connection.bind(participant)
    metrics.joins.inc({ resumed: 'false' })
    logger.info(who, 'joined')
  }

  private open(id: ChannelId): Channel {
    const { config, metrics, logger, clock = systemClock } = this.deps
    const key = keyOf(id)
    const channel = new Channel(id, {
      config,
      metrics,
      logger,
      clock,
      closed: (c) => {
        if (this.channels.get(key) === c) this.channels.delete(key)
      },
    })
    this.channels.set(key, channel)
    return channel
  }

  /**
   * Admin call: kicks everyone in the app's channel with `channelClosed`. False when there is no such
   * channel (a channel of the same name in another app is left alone).
   */
  closeChannel(id: ChannelId): boolean {
    const channel = this.channels.get(keyOf(id))
    if (!channel) return false
    channel.close('channelClosed')
    return true
  }

  /**
   * Moves every participant off this node (server-initiated rejoin): each client is told to join again and
   * its channel closes here. Returns how many participants were moved.
   */
  moveAll(message: string): number {
    let moved = 0
    for (const channel of [...this.channels.values()]) {
      moved += channel.size
      channel.move(message)
    }
    return moved
  }

  snapshot(): ChannelSnapshot[] {
    return [...this.channels.values()].map((channel) => channel.snapshot())
  }

  counts(connections: number): SfuGaugeSource {
    const counts: SfuGaugeSource = {
      connections,
      channels: this.channels.size,
      participants: 0,
      tracks: perKind(),
      subscriptions: 0,
    }
    for (const channel of this.channels.values()) {
      for (const p of channel.snapshot().participants) {
        counts.participants++
        counts.subscriptions += p.subscriptions
        for (const track of p.tracks) counts.tracks[track.kind]++
      }
    }
    return counts
  }

  get participantCount(): number {
    let count = 0
    for (const channel of this.channels.values()) count += channel.size
    return count
  }

  /** Kicks everyone with `serverShutdown`. */
  close(): void {
    this.closed = true
    this.drainingValue = true
    for (const channel of [...this.channels.values()]) channel.close('serverShutdown')
    this.channels.clear()
  }
}

/** One map key per (appKey, name); JSON keeps the pair unambiguous whatever characters either holds. */
function keyOf(id: ChannelId): string {
  return JSON.stringify([id.appKey, id.name])
}
