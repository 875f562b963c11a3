/**
 * The conference server: the only way into src/sfu for the server command, the desktop app's embedded stack,
 * e2e and bench. Inside, `signaling/` (the HTTP/WebSocket listener, connection admission, one
 * SignalConnection per socket) drives `room/` (the conference, its channels and participants, the join
 * rules), which drives `media/` (one werift PeerConnection per participant, its tracks, negotiation and
 * guards); nothing points back up.
 *
 * Importing this index loads no werift (about half a second): `ConferenceServer.start` loads the room and
 * media layers, so the server command can check a config file through here and stay quick.
 */
export type { ChannelId, ChannelSnapshot } from './room/channel'
export { type SfuApp, type SfuConfig, type SfuConfigInput, SfuConfigSchema } from './config'
export { SFU_DEFAULTS } from './defaults'
export { SfuError, type SfuErrorCode } from './errors'
export { type SfuGaugeSource, SfuMetrics } from './metrics'
export { ConferenceServer, type ConferenceServerDeps, type SfuHealth } from './signaling/conferenceServer'
export { checkJoin, type JoinVerdict } from './room/joinCheck'
