// Builds the native ChannelData fast path (docs/proxy.md §8) with node-gyp.
//   node native/relay/build.mjs            build; exit 1 on failure (`npm run build:native`)
//   node native/relay/build.mjs --optional build if needed; on failure warn and exit 0 (postinstall),
//                                          so a machine without a compiler still installs and relays on
//                                          the JS path (the fast-path test then fails, naming the command).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const optional = process.argv.includes('--optional')
// The proxy's relay fast path, the conference server's SRTP send (src/platform/mediaAddon.ts) and the
// receive and send paths of bench:cluster's load generator (bench/cluster/cheapMedia.ts, nativePublisher.ts).
const addons = ['pinhole_relay', 'pinhole_media', 'pinhole_rtp_sink'].map((name) =>
  join(here, `build/Release/${name}.node`),
)

function newestSource() {
  const files = ['binding.gyp', ...readdirSync(join(here, 'src')).map((f) => join('src', f))]
  return Math.max(...files.map((f) => statSync(join(here, f)).mtimeMs))
}

const built = (addon) => existsSync(addon) && statSync(addon).mtimeMs >= newestSource()
if (optional && addons.every(built)) process.exit(0)
if (process.platform !== 'linux') {
  console.warn('pinhole: the native relay fast path is Linux-only; the proxy relays on the JS path here')
  process.exit(optional ? 0 : 1)
}
// npm puts its own node-gyp on PATH for scripts; npm_config_node_gyp names it when run through npm.
const gyp = process.env.npm_config_node_gyp
const command = gyp ? process.execPath : 'node-gyp'
const args = [...(gyp ? [gyp] : []), 'rebuild', '--directory', here]
const result = spawnSync(command, args, { stdio: 'inherit', shell: !gyp && process.platform === 'win32' })
if (result.status !== 0) {
  const message = `pinhole: building the native relay fast path failed (${result.error?.message ?? `exit ${result.status}`})`
  if (!optional) {
    console.error(message)
    process.exit(1)
  }
  console.warn(`${message}; the proxy will relay on the JS path. Retry with \`npm run build:native\`.`)
}
