import { classes, Message, methods, type RTCPeerConnection, type TurnProtocol } from 'werift'
import type { Clock, EngineLogger } from '../defaults'

/**
 * The round trip to the proxy itself (issue 4 "RTT to the proxy"), measured on the TURN connection media
 * already uses: an authenticated Refresh of werift's own allocation (RFC 8656 §7.3, with the lifetime it
 * already has) sent through werift's TURN client, so the only packets are on the proxy's whitelisted TURN
 * port that carries the call, and the answer comes from the proxy (not from the relay leg to the
 * conference server, which ICE's consent checks include). A side effect is harmless: the allocation is
 * refreshed early. A 438 (stale nonce) retry makes one measurement two round trips (rare: nonces live
 * for minutes).
 */

/** werift's TURN client of a relay-only PeerConnection (one ICE transport with bundle), if any. */
export function turnClientOf(pc: RTCPeerConnection): TurnProtocol | undefined {
  for (const transport of pc.iceTransports) {
    // `protocols` is private in werift's types; the TURN client sits in it as StunOverTurnProtocol.
    const protocols = (transport.connection as unknown as { protocols?: unknown[] }).protocols ?? []
    for (const protocol of protocols) {
      const turn = (protocol as { turn?: unknown }).turn
      if (isTurnProtocol(turn)) return turn
      if (isTurnProtocol(protocol)) return protocol
    }
  }
  return undefined
}

function isTurnProtocol(value: unknown): value is TurnProtocol {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { requestWithRetry?: unknown }).requestWithRetry === 'function' &&
    Array.isArray((value as { server?: unknown }).server)
  )
}

/** One Refresh transaction's round trip, ms. Rejects when the proxy does not answer (werift's retries). */
export async function turnRoundTrip(turn: TurnProtocol, now: () => number): Promise<number> {
  const request = new Message(methods.REFRESH, classes.REQUEST)
  request.setAttribute('LIFETIME', turn.lifetime)
  const started = now()
  await turn.requestWithRetry(request, turn.server)
  return now() - started
}

/**
 * Keeps the latest TURN round trip of a PeerConnection: `sample()` starts a measurement when none is in
 * flight and returns the last result, so a slow or lost answer never delays a statistics report.
 */
export class TurnRttMeter {
  private latest: number | undefined
  private inFlight = false

  constructor(
    private readonly pc: RTCPeerConnection,
    private readonly clock: Clock,
    private readonly logger: EngineLogger,
  ) {}

  sample(): number | undefined {
    if (!this.inFlight) {
      const turn = turnClientOf(this.pc)
      if (turn) {
        this.inFlight = true
        turnRoundTrip(turn, () => this.clock.now())
          .then(
            (ms) => (this.latest = ms),
            (error: unknown) => this.logger.debug({ err: error }, 'TURN round trip not measured'),
          )
          .finally(() => (this.inFlight = false))
      }
    }
    return this.latest
  }
}
