import { PROXY_DEFAULTS } from '../proxy'

/**
 * Every server default, in one place: the config schema reads them from here and the docs document the
 * same values. The `proxy` and `sfu` sections' defaults are the services' own (src/proxy/defaults.ts,
 * docs/proxy.md; src/sfu/defaults.ts, docs/sfu.md).
 */
export const SERVER_DEFAULTS = {
  log: { level: 'info' },
  proxy: PROXY_DEFAULTS,
  admin: { host: '127.0.0.1', port: 9464, allowRemote: false },
} as const

/** Environment variable naming the config file. */
export const CONFIG_FILE_ENV = 'PINHOLE_CONFIG'
/** Prefix of path overrides: `PINHOLE__proxy__publicAddress=203.0.113.10`. */
export const ENV_OVERRIDE_PREFIX = 'PINHOLE__'
export const ENV_PATH_SEPARATOR = '__'
