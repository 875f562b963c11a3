/** The conference server (issue 3): what `src/server` wires into the CLI and config. */
export type { ChannelId, ChannelSnapshot } from './channel'
export { type SfuApp, type SfuConfig, type SfuConfigInput, SfuConfigSchema } from './config'
export { SFU_DEFAULTS } from './defaults'
export { SfuError, type SfuErrorCode } from './errors'
export { type SfuGaugeSource, SfuMetrics } from './metrics'
export { ConferenceServer, type ConferenceServerDeps, type SfuHealth } from './server'
export { checkJoin, type JoinVerdict } from './tokens'
