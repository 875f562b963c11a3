import { describe, expect, it } from 'vitest'
import { mintJoinToken } from '../proxy/net/tokens'
import { SignalErrorCode } from '../shared/codes'
import { checkJoin } from './tokens'

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
      async () => ({ token: await mint({ now: now - 61_000 }), channel: 'room', uid: 7 }),
      'token_expired',
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
