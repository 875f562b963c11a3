/**
 * The native N-API addons of native/relay (built by `npm run build:native`, on postinstall when a compiler is
 * there): where they are, and the conference server's SRTP send and receive (`pinhole_media`,
 * native/relay/src/srtp_out.cc, srtp_in.cc).
 * Both are optional at run time: without them the proxy relays and the conference server encrypts and sends
 * on the JavaScript path (docs/sfu.md "Forwarding cost").
 */
import type { Socket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, join } from 'node:path'

/** The command that builds the addons; named in every message about a missing addon. */
export const BUILD_COMMAND = 'npm run build:native'

/** The built addon `name` (pinhole_relay, pinhole_media). */
export function nativeAddonPath(name: string): string {
  return join(packageRoot(import.meta.dirname), `native/relay/build/Release/${name}.node`)
}

/**
 * The nearest folder up from `dir` that holds package.json: the repository (or the installed package) both
 * from this source file and from the compiled bundle in out/node/ (`npm run build`), which sit at different
 * depths.
 */
export function packageRoot(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at
    if (dirname(at) === at) return dir
  }
}

/**
 * AEAD_AES_128_GCM SRTP protection (RFC 7714) with one OpenSSL context per key: the RTP header written from
 * its fields, the IV from the session salt, SSRC, rollover counter and sequence number. `flags` is
 * marker << 7 | payload type; `twcc` is 0, or the transport-wide sequence's extension id << 16 | sequence.
 */
export interface SrtpGcmSender {
  /** The SRTP packet. */
  protect(
    flags: number,
    sequence: number,
    timestamp: number,
    ssrc: number,
    roc: number,
    twcc: number,
    payload: Buffer,
  ): Buffer
  /** The same packet sent with sendto on the UDP socket `fd`: the bytes written, or -errno (none sent). */
  send(
    fd: number,
    address: string,
    port: number,
    flags: number,
    sequence: number,
    timestamp: number,
    ssrc: number,
    roc: number,
    twcc: number,
    payload: Buffer,
  ): number
}

/** AEAD_AES_128_GCM SRTP verification and decryption (RFC 7714) with one OpenSSL context per key. */
export interface SrtpGcmReceiver {
  /**
   * `packet` (SRTP) verified and decrypted with the rollover counter `roc` into `out` (packet.length - 16
   * bytes: the header as received, the plaintext payload): false when it is malformed or not authentic.
   */
  unprotect(packet: Buffer, roc: number, out: Buffer): boolean
  /**
   * `packet` (SRTCP, RFC 7714 §9) verified and, when its E flag is set, decrypted into `out` (packet.length
   * - 20 bytes: the RTCP packet): false when it is malformed or not authentic. For a receiver made with the
   * SRTCP key and salt.
   */
  unprotectRtcp(packet: Buffer, out: Buffer): boolean
}

export interface MediaAddon {
  createSrtpGcmSender(key: Buffer, salt: Buffer): SrtpGcmSender
  createSrtpGcmReceiver(key: Buffer, salt: Buffer): SrtpGcmReceiver
}

export type MediaAddonLoad = { ok: true; addon: MediaAddon } | { ok: false; reason: string }

/** srtp_out.cc `kAbiVersion`. */
const MEDIA_ABI_VERSION = 3

interface MediaModule {
  SrtpGcmSender: new (key: Buffer, salt: Buffer) => SrtpGcmSender
  SrtpGcmReceiver: new (key: Buffer, salt: Buffer) => SrtpGcmReceiver
  abiVersion: number
}

let cached: MediaAddonLoad | undefined

/** Loads `pinhole_media` once per process (another `path`: every time, for tests); never throws. */
export function loadMediaAddon(path = nativeAddonPath('pinhole_media')): MediaAddonLoad {
  const standard = path === nativeAddonPath('pinhole_media')
  if (cached && standard) return cached
  const result = tryLoadMedia(path)
  if (standard) cached = result
  return result
}

function tryLoadMedia(path: string): MediaAddonLoad {
  const refused = mediaRuntimeRefusal(process.versions)
  if (refused) return { ok: false, reason: refused }
  if (!existsSync(path)) return { ok: false, reason: `${path} is not built (run \`${BUILD_COMMAND}\`)` }
  try {
    const module = { exports: {} as MediaModule }
    // Every symbol resolved now: the OpenSSL functions come from the Node binary, and a runtime that does
    // not export them (Electron's BoringSSL) must fail here, not at the first packet.
    process.dlopen(module, path, constants.dlopen.RTLD_NOW)
    const { SrtpGcmSender: Sender, SrtpGcmReceiver: Receiver, abiVersion } = module.exports
    if (abiVersion !== MEDIA_ABI_VERSION)
      return { ok: false, reason: `${path} is outdated (ABI ${abiVersion}); run \`${BUILD_COMMAND}\`` }
    const addon: MediaAddon = {
      createSrtpGcmSender: (key, salt) => new Sender(key, salt),
      createSrtpGcmReceiver: (key, salt) => new Receiver(key, salt),
    }
    return { ok: true, addon }
  } catch (err) {
    return { ok: false, reason: `${path} failed to load (${String(err)}); run \`${BUILD_COMMAND}\`` }
  }
}

/**
 * Why this runtime must not load `pinhole_media`, or undefined. It calls OpenSSL through the symbols of the
 * process: Electron's are BoringSSL's, which share OpenSSL's names but are not what the addon was built
 * and tested against, so the embedded stack in the desktop app stays on node:crypto.
 */
export function mediaRuntimeRefusal(versions: NodeJS.ProcessVersions): string | undefined {
  if (versions.electron) return 'Electron: its BoringSSL is not the OpenSSL the addon is built against'
  if (!versions.openssl) return 'this Node has no OpenSSL'
  return undefined
}

/**
 * The file descriptor of a bound, open dgram socket, or undefined (closed, not bound, not Unix). Node keeps
 * the handle under a private symbol; `socket._handle` reaches it too but prints a deprecation warning.
 */
export function udpSocketFd(socket: Socket): number | undefined {
  stateSymbol ??= Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol') ?? null
  if (!stateSymbol) return undefined
  const state = (socket as unknown as Record<symbol, { handle?: { fd?: number } | null } | undefined>)[
    stateSymbol
  ]
  const fd = state?.handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

let stateSymbol: symbol | null | undefined
