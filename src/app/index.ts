/**
 * The host-neutral desktop app core, as its hosts see it (docs/app.md): the Electron app (src/main) and the
 * browser host (src/webhost) import this file only. No Electron anywhere under src/app.
 *
 *   core/      one app core per window or page: the IPC contract's implementations over one engine
 *   settings/  the user's settings, the IT policy over them, regions from PINHOLE_REGIONS
 *   stack/     the embedded local stack (a proxy and a conference server in-process) and its discovery
 *   checks/    network check, diagnostics bundle and export, the app's log files
 *   mediaBridge.ts     media frames between a host's message port and the engine
 *   windowSecurity.ts  CSP, navigation and permission rules both hosts apply
 */

export { createAppCore, type AppCore, type AppCoreOptions } from './core/appCore'
export { invokeUnchecked } from './core/dispatch'
export { effectiveSettings, loadPolicy, type PolicyLoad } from './settings/policy'
export { regionsFromEnv } from './settings/envRegions'
export { startLocalStack, type LocalStack, type LocalStackInfo } from './stack/localStack'
export {
  acquireLocalStack,
  defaultRunDir,
  DISCOVERY_FILE,
  sharedLocalStack,
  type SharedLocalStack,
} from './stack/discovery'
export { createAppLogger, logDirectory, RotatingFile } from './checks/logs'
export type { DiagnosticsOptions } from './checks/diagnosticsExport'
export type { MediaPortLike } from './mediaBridge'
export {
  allowNavigation,
  allowPermissionCheck,
  allowPermissionRequest,
  CONTENT_SECURITY_POLICY,
  windowOpenPolicy,
  withCsp,
} from './windowSecurity'
// The engine's logger contract and its no-op, for hosts that take a logger option.
export { silentLogger, type EngineLogger } from '../engine'
