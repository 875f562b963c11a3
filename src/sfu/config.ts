import { isIP } from 'node:net'
import { z } from 'zod'
import { SFU_DEFAULTS as D } from './defaults'

/**
 * The `sfu:` section of the server config (docs/sfu.md). Strict: an unknown field is refused with its
 * path, so a typo does not silently fall back to a default.
 */

const isUnspecified = (s: string): boolean => s === '0.0.0.0' || /^[0:]+$/.test(s)

function intIn(min: number, max: number): z.ZodInt {
  const message = `expected an integer from ${min} to ${max}`
  return z.int(message).min(min, message).max(max, message)
}

const bindHost = z.string().refine((s) => isIP(s) !== 0, 'expected an IPv4 or IPv6 address to listen on')
const announcedIp = z
  .string()
  .refine((s) => isIP(s) !== 0 && !isUnspecified(s), 'expected the IP address clients reach (not a wildcard)')
const port = intIn(1, 65535)
/** An address or a CIDR, IPv4 or IPv6. */
const addressOrCidr = z.string().refine((s) => {
  const [address = '', bits, extra] = s.split('/')
  const version = isIP(address)
  if (version === 0 || extra !== undefined) return false
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128))
}, 'expected an IP address or CIDR such as 10.0.0.5 or 10.0.0.0/24')

export const SfuConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(D.enabled),
    /** Where the signaling WebSocket (`/v1/signal`) and `POST /v1/token` listen. */
    listenHost: bindHost.default(D.listenHost),
    /** 0: any free port (tests, the embedded local stack); `ConferenceServer.port` tells which. */
    port: intIn(0, 65535).default(D.port),
    /** The only address put in ICE candidates (the TURN relay sends media there). */
    announcedAddress: announcedIp.default(D.announcedAddress),
    /** Where the media (UDP) sockets bind; defaults to `listenHost`. Use 0.0.0.0 behind a 1:1 NAT. */
    rtcListenHost: bindHost.optional(),
    /** UDP ports for media, one per participant. */
    rtcPortRange: z
      .tuple([port, port])
      .refine(([min, max]) => min < max, 'expected [min, max] with min < max')
      .optional(),
    maxParticipants: intIn(1, 1000).default(D.maxParticipants),
    maxChannels: intIn(1, 1_000_000).default(D.maxChannels),
    maxConnections: intIn(1, 1_000_000).default(D.maxConnections),
    unauthenticatedPercent: intIn(1, 100).default(D.unauthenticatedPercent),
    unauthenticatedPerIp: intIn(1, 1_000_000).default(D.unauthenticatedPerIp),
    trustedProxies: z.array(addressOrCidr).default([...D.trustedProxies]),
    reconnectGraceMs: intIn(0, 600_000).default(D.reconnectGraceMs),
    devTokens: z.boolean().default(D.devTokens),
    maxMessageBytes: intIn(1024, 1_048_576).default(D.maxMessageBytes),
    joinTimeoutMs: intIn(10, 600_000).default(D.joinTimeoutMs),
    negotiationTimeoutMs: intIn(10, 600_000).default(D.negotiationTimeoutMs),
    keepaliveMs: intIn(10, 600_000).default(D.keepaliveMs),
    maxBadMessages: intIn(1, 1_000_000).default(D.maxBadMessages),
    maxBufferedBytes: intIn(65_536, 1 << 30).default(D.maxBufferedBytes),
    keyframeMinIntervalMs: intIn(0, 10_000).default(D.keyframeMinIntervalMs),
    /** Media found dead while "connected" (DTLS down, or nothing received this long): the client rejoins. */
    mediaStallMs: intIn(100, 600_000).default(D.mediaStallMs),
    drainTimeoutMs: intIn(0, 3_600_000).default(D.drainTimeoutMs),
    /**
     * Conference nodes on this machine, each its own process (the server command forks them; docs/scaling.md
     * "Workers"). Absent: one per core with `cluster.redis`, else 1. Read by the server command only.
     */
    workers: intIn(1, 256).optional(),
    tokenClockToleranceSeconds: intIn(0, 300).default(D.tokenClockToleranceSeconds),
  })
  .prefault({})
  .superRefine((c, ctx) => {
    // One UDP socket per participant carries the announced address: its family is the bind family.
    const bind = c.rtcListenHost ?? c.listenHost
    if (isIP(bind) !== isIP(c.announcedAddress)) {
      const path = [c.rtcListenHost === undefined ? 'listenHost' : 'rtcListenHost']
      ctx.addIssue({ code: 'custom', path, message: 'expected the same IP family as announcedAddress' })
    }
  })

export type SfuConfig = z.output<typeof SfuConfigSchema>
export type SfuConfigInput = z.input<typeof SfuConfigSchema>

/** One app the server accepts tokens for (the same `apps` list as the proxy's). */
export interface SfuApp {
  appKey: string
  secret: string
}
