/**
 * The conference server: what `src/server`, the embedded app stack, e2e and bench use of it. Inside,
 * `signaling/` (the HTTP/WebSocket listener, connection admission, one SignalConnection per socket) drives
 * `room/` (the conference, its channels and participants, the join rules), which drives `media/` (one werift
 * PeerConnection per participant, its tracks, negotiation and guards); nothing points back up.
 *
 * `./config` is the one other way in: the config section alone, for code that validates a config file
 * without starting a server (this index loads werift, which takes about half a second).
 */
export type { ChannelId, ChannelSnapshot } from './room/channel'
export { type SfuApp, type SfuConfig, type SfuConfigInput, SfuConfigSchema } from './config'
export { SFU_DEFAULTS } from './defaults'
export { SfuError, type SfuErrorCode } from './errors'
export { type SfuGaugeSource, SfuMetrics } from './metrics'
export { ConferenceServer, type ConferenceServerDeps, type SfuHealth } from './signaling/conferenceServer'
export { checkJoin, type JoinVerdict } from './room/joinCheck'
export { serverPeerConfig, sfuCodecs, VP8_PAYLOAD_TYPE } from './media/rtc'
