import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import { TestClient } from './client'
import { APP, closeAll, metric, receives, type Sfu, startSfu } from './harness'

describe('joining', () => {
  let sfu: Sfu
  const clients: TestClient[] = []
  const track = <T extends TestClient>(client: T): T => {
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    sfu = await startSfu({ maxParticipants: 2, reconnectGraceMs: 400 })
  })
  afterAll(() => closeAll(clients, sfu))

  it.each<[string, (s: Sfu) => Promise<{ token: string; channel: string; uid: number }>, SignalErrorCode]>([
    [
      'uid 0',
      async (s) => ({ token: await s.token('t', 5), channel: 't', uid: 0 }),
      SignalErrorCode.UidInvalid,
    ],
    [
      'an expired token',
      async (s) => ({ token: await s.token('t', 5, { now: Date.now() - 120_000 }), channel: 't', uid: 5 }),
      SignalErrorCode.TokenExpired,
    ],
    [
      'a token for another channel',
      async (s) => ({ token: await s.token('other', 5), channel: 't', uid: 5 }),
      SignalErrorCode.TokenChannelMismatch,
    ],
    [
      'a token for another uid',
      async (s) => ({ token: await s.token('t', 6), channel: 't', uid: 5 }),
      SignalErrorCode.TokenUidMismatch,
    ],
    [
      'a badly signed token',
      async (s) => ({
        token: await s.token('t', 5, { secret: 'not-the-secret-0123456789' }),
        channel: 't',
        uid: 5,
      }),
      SignalErrorCode.TokenInvalid,
    ],
    [
      'a malformed token',
      async () => ({ token: 'not.a.jwt', channel: 't', uid: 5 }),
      SignalErrorCode.TokenMalformed,
    ],
  ])('refuses %s with its own code, then closes', async (_name, make, code) => {
    const request = await make(sfu)
    const before = await metric(sfu.server.registry, 'join_failures_total', { code })
    const client = track(await TestClient.connect({ url: sfu.url, ...request }))

    expect(await client.waitFor('error')).toMatchObject({ code, ref: 'join' })
    expect(await client.closed()).toBe(SignalCloseCode.JoinRefused)
    expect(await metric(sfu.server.registry, 'join_failures_total', { code })).toBe(before + 1)
    expect(sfu.server.channels()).toEqual([])
  })

  it('kicks the first holder of a uid when it joins again ("server kicked")', async () => {
    const first = track(await sfu.join('dup', 10))
    const other = track(await sfu.join('dup', 11))

    const second = track(await sfu.join('dup', 10))

    expect(await first.waitFor('kicked')).toMatchObject({ reason: 'serverKicked', message: 'server kicked' })
    expect(await first.closed()).toBe(SignalCloseCode.Kicked)
    expect(await other.waitFor('userLeft', (m) => m.uid === 10)).toMatchObject({ reason: 'serverKicked' })
    await other.waitFor(
      'userJoined',
      (m) => m.uid === 10 && other.messages.some((x) => x.type === 'userLeft'),
    )
    expect(second.messages.some((m) => m.type === 'kicked')).toBe(false)
    expect(
      sfu.server
        .channels()[0]
        ?.participants.map((p) => p.uid)
        .sort(),
    ).toEqual([10, 11])
    for (const c of [other, second]) c.leave()
    await Promise.all([other.closed(), second.closed()])
  })

  it('refuses a join past the participant limit', async () => {
    const a = track(await sfu.join('full', 20))
    const b = track(await sfu.join('full', 21))

    const c = track(await sfu.connect('full', 22))

    expect(await c.waitFor('error')).toMatchObject({ code: SignalErrorCode.ChannelFull })
    expect(await c.closed()).toBe(SignalCloseCode.JoinRefused)
    expect(sfu.server.channels()[0]?.participants).toHaveLength(2)
    for (const x of [a, b]) x.leave()
    await Promise.all([a.closed(), b.closed()])
  })

  it('keeps a dropped participant for the grace period, then tells the others (timeout)', async () => {
    const a = track(await sfu.join('grace', 30))
    const b = track(await sfu.join('grace', 31))

    a.dropSignaling()

    await b.until(
      () => sfu.server.channels()[0]?.participants[0]?.state === 'disconnected' || undefined,
      'grace',
    )
    expect(b.messages.some((m) => m.type === 'userLeft')).toBe(false)
    expect(await b.waitFor('userLeft', (m) => m.uid === 30)).toMatchObject({ reason: 'timeout' })
    b.leave()
    await b.closed()
  })

  it('resumes a participant that rejoins within the grace period, media and all', async () => {
    const a = track(await sfu.join('resume', 40))
    const b = track(await sfu.join('resume', 41))
    a.startMedia()
    await b.until(() => receives(b, 40, 'video', 5) || undefined, 'media before the drop')

    a.dropSignaling()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const again = track(
      await TestClient.connect(
        {
          url: sfu.url,
          token: await sfu.token('resume', 40),
          channel: 'resume',
          uid: 40,
          resume: a.sessionId!,
        },
        a.pc,
      ),
    )

    expect(await again.joined()).toMatchObject({ resumed: true, sessionId: a.sessionId })
    const before = b.received.get('40:video')!.counters.size
    await b.until(
      () => b.received.get('40:video')!.counters.size > before + 10 || undefined,
      'media after resume',
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(b.messages.filter((m) => m.type === 'userLeft' || m.type === 'userJoined')).toEqual([])
    expect(await metric(sfu.server.registry, 'joins_total', { resumed: 'true' })).toBe(1)
    a.stopMedia()
    again.leave()
    b.leave()
    await Promise.all([again.closed(), b.closed()])
  })

  it('sends the unanswered offer again to a resumed connection', async () => {
    const first = track(await sfu.connect('again', 50, { autoAnswer: false }))
    const joined = await first.joined()
    const offer = await first.waitFor('offer')
    first.dropSignaling() // before answering: the server's offer stays outstanding

    const again = track(await sfu.connect('again', 50, { resume: joined.sessionId }))

    expect(await again.joined()).toMatchObject({ resumed: true })
    expect(await again.waitFor('offer')).toMatchObject({ seq: offer.seq, sdp: offer.sdp })
    await again.connected()
    again.leave()
    await again.closed()
  })

  it('tells apart an unknown app', async () => {
    const { mintJoinToken } = await import('../../src/protocol/auth/joinToken')
    const token = await mintJoinToken({
      appKey: 'nope',
      secret: APP.secret,
      channel: 'x',
      uid: 1,
      ttlSeconds: 60,
    })
    const client = track(await TestClient.connect({ url: sfu.url, token, channel: 'x', uid: 1 }))
    expect(await client.waitFor('error')).toMatchObject({ code: SignalErrorCode.AppUnknown })
  })
})
