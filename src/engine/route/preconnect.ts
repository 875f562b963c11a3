import type { Region } from '../../shared/engine'
import type { Clock } from '../defaults'
import type { HttpProxyConfig } from './httpProxy'
import { connectPinnedTls, pinOf, type PinnedTls } from './tlsPin'

/**
 * A pinned TLS connection to a proxy's TCP port made ahead of need, beside the session request (docs/
 * engine.md "Join round trips"): the region's pin is all it needs, so its TCP and TLS handshakes (2 round
 * trips) run while the session request does. Taken once by the step that needs that host and port, if it
 * saw the certificate the session request saw; otherwise — or if nobody takes it — it is closed.
 */
export class Preconnected {
  private tls: Promise<PinnedTls> | undefined

  private constructor(
    private readonly target: string,
    tls: Promise<PinnedTls>,
  ) {
    tls.catch(() => undefined) // the taker reports a failure (by connecting afresh), not this
    this.tls = tls
  }

  static start(
    region: Region,
    alpn: string[],
    options: { timeoutMs: number; signal: AbortSignal; clock: Clock; httpProxy?: HttpProxyConfig },
  ): Preconnected {
    const { proxyHost: host, ports } = region
    const { httpProxy, ...rest } = options
    const tls = connectPinnedTls(host, ports.tcp, pinOf(region), {
      ...rest,
      alpn,
      ...(httpProxy ? { httpProxy } : {}),
    })
    return new Preconnected(`${host}:${ports.tcp}`, tls)
  }

  /** A connection made earlier (a prepared join's, warmKeep.ts), taken as one made now. */
  static of(region: Region, tls: Promise<PinnedTls>): Preconnected {
    return new Preconnected(`${region.proxyHost}:${region.ports.tcp}`, tls)
  }

  /**
   * The connection, once, when it goes to host:port and saw `fingerprint` (the session's); resolves
   * undefined when it failed or saw another certificate (the taker then connects afresh, and reports).
   */
  take(host: string, port: number, fingerprint: string): Promise<PinnedTls | undefined> | undefined {
    const tls = this.tls
    this.tls = undefined
    if (!tls) return undefined
    const usable = this.target === `${host}:${port}`
    return tls.then(
      (connection) => {
        if (usable && connection.fingerprintSha256.toUpperCase() === fingerprint.toUpperCase())
          return connection
        connection.socket.destroy()
        return undefined
      },
      () => undefined,
    )
  }

  /**
   * The connection, once, whatever certificate it saw within the region's pin — what the session request
   * itself trusts with the whole token — for an allocation started before the session answer (earlyRelay.ts,
   * which compares the certificate with the session's later). Undefined when it failed.
   */
  takeAny(): Promise<PinnedTls | undefined> {
    const tls = this.tls
    this.tls = undefined
    return tls ? tls.catch(() => undefined) : Promise.resolve(undefined)
  }

  /** Closes it unless taken. */
  discard(): void {
    void this.take('', 0, '')
  }
}
