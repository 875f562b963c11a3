import { describe, expect, it } from 'vitest'
import {
  ProxyApiErrorSchema,
  ProxySessionInfoSchema,
  ProxySessionRequestSchema,
  type ProxySessionInfo,
} from './proxySession'

const info: ProxySessionInfo = {
  version: 1,
  region: 'beijing',
  serverTime: 1_750_000_000_000,
  turn: {
    urls: ['turn:203.0.113.10:3478?transport=udp', 'turns:203.0.113.10:443?transport=tcp'],
    username: '1750000600:42',
    credential: 'aRA8q+LFpiXP51Gs7gCTO1ttPGo=',
    ttlSeconds: 600,
    expiresAt: 1_750_000_600_000,
  },
  signalUrl: 'wss://203.0.113.10:443/v1/signal',
  tls: { fingerprintSha256: Array(32).fill('AB').join(':') },
}

describe('proxy session schemas', () => {
  it('accepts a well-formed session answer', () => {
    expect(ProxySessionInfoSchema.parse(info)).toEqual(info)
  })

  it.each([
    ['another version', { ...info, version: 2 }],
    ['a lowercase fingerprint', { ...info, tls: { fingerprintSha256: Array(32).fill('ab').join(':') } }],
    ['a short fingerprint', { ...info, tls: { fingerprintSha256: 'AB:CD' } }],
    ['an http TURN URL', { ...info, turn: { ...info.turn, urls: ['http://x'] } }],
    ['no TURN URL', { ...info, turn: { ...info.turn, urls: [] } }],
    ['an https signal URL', { ...info, signalUrl: 'https://x/v1/signal' }],
    ['a fractional server time', { ...info, serverTime: 1.5 }],
  ])('rejects %s', (_name, value) => {
    expect(ProxySessionInfoSchema.safeParse(value).success).toBe(false)
  })

  it('validates the request and the error bodies', () => {
    expect(ProxySessionRequestSchema.safeParse({ token: 'a.b.c' }).success).toBe(true)
    expect(ProxySessionRequestSchema.safeParse({ token: '' }).success).toBe(false)
    expect(ProxyApiErrorSchema.safeParse({ error: { code: 'token_expired', message: 'x' } }).success).toBe(
      true,
    )
    expect(ProxyApiErrorSchema.safeParse({ error: 'token_expired' }).success).toBe(false)
  })
})
