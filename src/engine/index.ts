/**
 * The engine's one way in for the CLI, the app core and the hosts (docs/engine.md "Modules"). Inside, the
 * engine is grouped by feature: `api/` (createEngine, the state machine, events, defaults), `route/`
 * (regions, probes, the proxy session request, path selection, HTTP proxy, TLS pin, doctor), `call/` (the
 * call over signaling, reconnects, presence), `media/` (the PeerConnection, local and remote media, RTP) and
 * `stats/`.
 */

export { createEngine } from './api/engine'
export type { CreateEngineOptions, Engine, JoinChannelOptions } from './api/engineApi'
export { TypedEmitter, type Listener } from './events'
export {
  silentLogger,
  systemClock,
  type Clock,
  type EngineLogger,
  type JoinStep,
  type TransportBudgets,
} from './defaults'

export type { CallContext, CallEvent, CallHandle, ConnectCall } from './call/call'
export { CALL_DEFAULTS, type CallOptions } from './call/callOptions'
export { backoffPolicy, RECONNECT_DEFAULTS, type ReconnectPolicy } from './call/reconnectPolicy'

export { AUTO_REGION, parseRegions, type RegionProber } from './route/regions'
export { probeRegion, probeTls, type ProbeOptions } from './route/probe'
export { DOCTOR_TABLE_COLUMNS, formatDoctorTable, runDoctor, wrapText, type DoctorRow } from './route/doctor'
export { describeHttpProxy, parseHttpProxyUrl, type HttpProxyConfig } from './route/httpProxy'
export { requestProxySession } from './route/proxySessionClient'
export type { DirectConfig } from './route/direct'
export type { Relocation, Route } from './route/proxyRouter'
export type { EncodedAudioFrame, EncodedVideoFrame } from './media/frames'
