import type { Socket } from 'node:net'
import type { RTCPeerConnectionConfig } from 'werift'
import type { EngineEvents } from '../../shared/engine'
import { MediaWatch } from '../media/mediaWatch'
import { PeerMedia } from '../media/peerMedia'
import type { RemoteVideoLedger } from '../media/remoteVideoLedger'
import { weriftConfigVia } from '../route/httpProxy'
import type { TransportSelection } from '../route/pathSelect'
import type { HandedTlsTurn, HandedTurn } from '../route/turnProbe'
import type { MediaCounters } from '../stats/stats'
import type { CallContext } from './call'
import { CALL_DEFAULTS, type CallOptions } from './callOptions'
import { SIGNALING_DEFAULTS } from './signalingClient'

export interface CallMediaDeps {
  /** The call's context, read when a PeerConnection is built (a failover replaces its transport). */
  context: CallContext
  options: CallOptions
  counters: MediaCounters
  /** Each remote user's video figures, kept across PeerConnections like `counters`. */
  remoteVideo: RemoteVideoLedger
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): void
  /** The current PeerConnection's path is gone (MediaWatch). */
  lost(): void
  /** False once the call is closed: its PeerConnection's states no longer matter. */
  active(): boolean
}

/**
 * The call's current PeerConnection and what lives and dies with it (docs/engine.md "Ownership"): werift's
 * TURN-over-TLS socket (a tunnel through a corporate HTTP proxy, or a direct one), the transport it was
 * built with (what `rtcStats` reports until the next one), and the watch that turns its states into a
 * media loss. A full rejoin replaces all of it; a resume keeps it.
 */
export class CallMedia {
  private media: PeerMedia | undefined
  private tunnel: Socket | undefined
  /** Taken by `config` for the PeerConnection `replace` builds next. */
  private relay: HandedTurn | HandedTlsTurn | undefined
  private builtWith: TransportSelection | undefined
  private readonly watch: MediaWatch

  constructor(private readonly deps: CallMediaDeps) {
    this.watch = new MediaWatch({
      clock: deps.context.clock,
      logger: deps.context.logger,
      graceMs: deps.options.mediaGraceMs ?? CALL_DEFAULTS.mediaGraceMs,
      lost: () => deps.lost(),
    })
  }

  get current(): PeerMedia | undefined {
    return this.media
  }

  /** The transport the current PeerConnection was built with; the context's before the first one. */
  get transport(): TransportSelection {
    return this.builtWith ?? this.deps.context.transport
  }

  /**
   * werift's config for a new PeerConnection (`replace` follows at once). The join's probe allocation:
   * the first PeerConnection built with its transport gathers with it, and werift opens no TURN
   * connection of its own; otherwise TURN over TLS gets a socket of ours (weriftConfigVia).
   */
  async config(signal: AbortSignal): Promise<RTCPeerConnectionConfig> {
    const { transport, httpProxy, clock } = this.deps.context
    this.relay = transport.relay?.take()
    const timeoutMs = this.deps.options.signaling?.connectTimeoutMs ?? SIGNALING_DEFAULTS.connectTimeoutMs
    const { rtcConfig, tunnel } = this.relay
      ? { rtcConfig: transport.rtcConfig, tunnel: undefined }
      : await weriftConfigVia(transport, httpProxy, { timeoutMs, signal, clock })
    this.tunnel?.destroy()
    this.tunnel = tunnel
    return rtcConfig
  }

  /** A new PeerConnection in place of the current one (which closes). */
  replace(rtcConfig: RTCPeerConnectionConfig): PeerMedia {
    void this.media?.close()
    const { context, options, counters, remoteVideo } = this.deps
    this.builtWith = context.transport
    const relay = this.relay
    this.relay = undefined
    const media = new PeerMedia({
      rtcConfig,
      clock: context.clock,
      logger: context.logger,
      ...(options.pacer ? { pacer: options.pacer } : {}),
      ...(options.remote ? { remote: options.remote } : {}),
      counters,
      remoteVideo,
      ...(relay ? { relay } : {}),
    })
    this.media = media
    media.on('frame', (kind, frame) =>
      this.deps.emit(kind === 'audio' ? 'remoteAudioFrame' : 'remoteVideoFrame', frame),
    )
    // The camera's request keeps its old form (no argument); the screen's names its track.
    media.on('keyFrameRequested', (track) =>
      track === 'screen' ? this.deps.emit('keyFrameRequested', track) : this.deps.emit('keyFrameRequested'),
    )
    media.on('sendTarget', (target) => this.deps.emit('sendTargetChanged', target))
    media.on('state', (state) => {
      if (state === 'connected') context.mark?.('dtlsConnected')
      if (this.media === media) this.watch.handle(state, this.deps.active())
    })
    media.on('progress', (step) => context.mark?.(step))
    return media
  }

  /** The PeerConnection and its tunnel go; resolves once werift has closed it. */
  drop(): Promise<void> {
    const media = this.media
    this.media = undefined
    this.watch.clear()
    this.tunnel?.destroy()
    this.tunnel = undefined
    return media ? media.close() : Promise.resolve()
  }
}
