import { describe, expect, it } from 'vitest'
import { SESSION_API_DEFAULTS } from '../../proxy'
import {
  JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
  mintJoinToken,
  verifyJoinToken,
} from '../../protocol/auth/joinToken'
import { SignalErrorCode } from '../../shared/codes'
import { SfuConfigSchema } from '../config'
import { checkJoin } from './joinCheck'

const app = { appKey: 'app', secret: 'secret-0123456789abcdef' }
const now = 1_800_000_000_000
const mint = (over: Partial<Parameters<typeof mintJoinToken>[0]> = {}) =>
  mintJoinToken({ ...app, channel: 'room', uid: 7, ttlSeconds: 60, now, ...over })

describe('checkJoin', () => {
  it('accepts a token for this channel and uid', async () => {
    const verdict = await checkJoin(
      { token: await mint(), channel: 'room', uid: 7 },
      { apps: [app], now: () => now },
    )
    expect(verdict).toMatchObject({ ok: true, claims: { appKey: 'app', channel: 'room', uid: 7 } })
  })

  it.each<[string, () => Promise<{ token: string; channel: string; uid: number }>, SignalErrorCode]>([
    ['uid 0', async () => ({ token: await mint(), channel: 'room', uid: 0 }), SignalErrorCode.UidInvalid],
    [
      'expired',
      async () => ({ token: await mint({ now: now - 70_000 }), channel: 'room', uid: 7 }),
      'token_expired',
    ],
    [
      'issued a minute in the future',
      async () => ({ token: await mint({ now: now + 60_000 }), channel: 'room', uid: 7 }),
      'token_claims',
    ],
    [
      'other channel',
      async () => ({ token: await mint(), channel: 'hall', uid: 7 }),
      'token_channel_mismatch',
    ],
    ['other uid', async () => ({ token: await mint(), channel: 'room', uid: 8 }), 'token_uid_mismatch'],
    [
      'bad signature',
      async () => ({ token: await mint({ secret: 'another-secret-0123456' }), channel: 'room', uid: 7 }),
      'token_invalid',
    ],
    [
      'unknown app',
      async () => ({ token: await mint({ appKey: 'x' }), channel: 'room', uid: 7 }),
      'app_unknown',
    ],
    ['garbage', async () => ({ token: 'garbage', channel: 'room', uid: 7 }), 'token_malformed'],
  ])('refuses %s with its own code', async (_name, make, code) => {
    const verdict = await checkJoin(await make(), { apps: [app], now: () => now })
    expect(verdict).toMatchObject({ ok: false, code })
  })
})

describe('the proxy and the conference server share one clock-skew allowance', () => {
  const sfuTolerance = SfuConfigSchema.parse({}).tokenClockToleranceSeconds
  const proxyTolerance = SESSION_API_DEFAULTS.clockToleranceSeconds

  it('by default, both are JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS', () => {
    expect({ sfuTolerance, proxyTolerance }).toEqual({
      sfuTolerance: JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
      proxyTolerance: JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS,
    })
  })

  it('so a token the session API accepts at any skew is accepted by the conference server, and vice versa', async () => {
    const secretFor = (appKey: string): string | undefined => (appKey === app.appKey ? app.secret : undefined)
    for (let skew = -10; skew <= 10; skew++) {
      // Minted by a clock `skew` seconds off: iat ahead (skew > 0), or exp just behind (skew < 0).
      const token = await mint({ now: now + skew * 1000, ttlSeconds: skew < 0 ? 0 : 60 })
      const atProxy = await verifyJoinToken(token, {
        secretFor,
        now: () => now,
        clockToleranceSeconds: proxyTolerance,
      })
      const atServer = await checkJoin(
        { token, channel: 'room', uid: 7 },
        { apps: [app], now: () => now, clockToleranceSeconds: sfuTolerance },
      )
      expect({ skew, ok: atServer.ok }).toEqual({ skew, ok: atProxy.ok })
      // Accepted while exp is after now - T and iat no later than now + T.
      const withinAllowance =
        skew < 0 ? -skew < JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS : skew <= JOIN_TOKEN_CLOCK_TOLERANCE_SECONDS
      expect({ skew, ok: atServer.ok }).toEqual({ skew, ok: withinAllowance })
    }
  })
})
