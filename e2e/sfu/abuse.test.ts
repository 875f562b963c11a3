import { connect } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import { parseServerMessage, type ServerMessage } from '../../src/shared/signaling'
import type { TestClient } from './client'
import { closeAll, metric, receives, type Sfu, startSfu } from './harness'

const JOIN_REFUSALS = new Set<string>([
  SignalErrorCode.UidInvalid,
  SignalErrorCode.TokenMalformed,
  SignalErrorCode.TokenInvalid,
  SignalErrorCode.TokenExpired,
  SignalErrorCode.TokenClaims,
  SignalErrorCode.AppUnknown,
  SignalErrorCode.TokenChannelMismatch,
  SignalErrorCode.TokenUidMismatch,
  SignalErrorCode.ChannelFull,
])

type Answer =
  { kind: 'message'; message: ServerMessage } | { kind: 'close'; code: number } | { kind: 'timeout' }

/** A raw signaling socket that hands out what the server sends, one item at a time. */
class RawSocket {
  private readonly inbox: Answer[] = []
  private waiter: ((answer: Answer) => void) | undefined

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const parsed = parseServerMessage(String(data))
      if (!parsed.ok) throw new Error(`invalid server message: ${parsed.message}`)
      this.push({ kind: 'message', message: parsed.message })
    })
    ws.on('close', (code) => this.push({ kind: 'close', code }))
    ws.on('error', () => undefined)
  }

  static open(url: string): Promise<RawSocket> {
    const ws = new WebSocket(url)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawSocket(ws)))
      ws.once('error', reject)
    })
  }

  private push(answer: Answer): void {
    if (this.waiter) {
      const waiter = this.waiter
      this.waiter = undefined
      waiter(answer)
    } else this.inbox.push(answer)
  }

  next(timeoutMs = 3000): Promise<Answer> {
    const queued = this.inbox.shift()
    if (queued) return Promise.resolve(queued)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        resolve({ kind: 'timeout' })
      }, timeoutMs)
      this.waiter = (answer) => {
        clearTimeout(timer)
        resolve(answer)
      }
    })
  }

  async closed(): Promise<number | undefined> {
    for (;;) {
      const answer = await this.next()
      if (answer.kind === 'close') return answer.code
      if (answer.kind === 'timeout') return undefined
    }
  }
}

/** 1,000 signaling frames: random text, random JSON, and mutations of every valid message. */
function corpus(token: string): string[] {
  const bases: Record<string, unknown>[] = [
    { v: 1, type: 'join', token, channel: 'fuzz', uid: 77, capabilities: { audio: true, video: false } },
    { v: 1, type: 'answer', seq: 1, sdp: 'v=0\r\n' },
    { v: 1, type: 'renegotiate' },
    {
      v: 1,
      type: 'join',
      token,
      channel: 'fuzz',
      uid: 77,
      displayName: '王芳',
      capabilities: { audio: false, video: true, screen: true },
    },
    { v: 1, type: 'publish', kind: 'video' },
    { v: 1, type: 'publish', kind: 'screen' },
    { v: 1, type: 'keyframeRequest', uid: 1, kind: 'screen' },
    { v: 1, type: 'unpublish', kind: 'audio' },
    { v: 1, type: 'keyframeRequest', uid: 1 },
    { v: 1, type: 'leave' },
    { v: 1, type: 'ping', ts: 1 },
  ]
  const mutated = fc
    .tuple(fc.constantFrom(...bases), fc.nat(5), fc.string(), fc.anything(), fc.nat(200))
    .map(([base, how, key, value, cut]) => {
      const copy: Record<string, unknown> = { ...base }
      const keys = Object.keys(copy)
      const pick = keys[cut % keys.length]!
      switch (how) {
        case 0:
          delete copy[pick]
          break
        case 1:
          copy[pick] = value
          break
        case 2:
          copy[key] = value
          break
        case 3:
          copy.type = ['join', 'offer', 'JOIN', '', 'answer'][cut % 5]
          break
        case 4:
          return JSON.stringify(copy).slice(0, cut)
        default:
          return JSON.stringify({ ...copy, nested: copy, v: [1, 2, '1', null][cut % 4] })
      }
      return JSON.stringify(copy)
    })
  const frames = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.json(), mutated, mutated)
  return fc.sample(frames, { seed: 3, numRuns: 1000 })
}

describe('bad input while a healthy call goes on', () => {
  let sfu: Sfu
  let healthy: TestClient[] = []

  beforeAll(async () => {
    sfu = await startSfu({
      maxBadMessages: 100_000,
      joinTimeoutMs: 400,
      negotiationTimeoutMs: 400,
      reconnectGraceMs: 200,
      maxMessageBytes: 4096,
    })
    healthy = [await sfu.join('healthy', 1), await sfu.join('healthy', 2)]
    for (const client of healthy) client.startMedia()
    await healthy[0]!.until(
      () => (receives(healthy[0]!, 2, 'video', 5) && receives(healthy[1]!, 1, 'video', 5)) || undefined,
      'healthy media',
    )
  })
  afterAll(() => closeAll(healthy, sfu))

  it('answers each of 1,000 random and mutated messages with a message or a close', async () => {
    const frames = corpus(await sfu.token('fuzz', 77))
    const workers = 4
    const results = await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const tally = { answered: 0, errors: 0, closes: 0, joins: 0, unanswered: [] as string[] }
        let socket = await RawSocket.open(sfu.url)
        for (const frame of frames.filter((_f, i) => i % workers === w)) {
          socket.ws.send(frame)
          const answer = await socket.next()
          if (answer.kind === 'timeout') {
            tally.unanswered.push(frame)
            continue
          }
          tally.answered++
          let reopen = answer.kind === 'close'
          if (answer.kind === 'close') tally.closes++
          if (answer.kind === 'message' && answer.message.type === 'error') {
            tally.errors++
            // A refused join is an error and then a close; wait for it before the next frame.
            if (JOIN_REFUSALS.has(answer.message.code)) reopen = (await socket.closed()) !== undefined
          }
          if (answer.kind === 'message' && answer.message.type === 'joined') {
            tally.joins++
            socket.ws.terminate()
            reopen = true
          }
          if (reopen) socket = await RawSocket.open(sfu.url)
        }
        socket.ws.close()
        return tally
      }),
    )
    const total = results.reduce((sum, r) => sum + r.answered, 0)
    expect(results.flatMap((r) => r.unanswered)).toEqual([])
    expect(total).toBe(1000)
    expect(results.reduce((sum, r) => sum + r.errors, 0)).toBeGreaterThan(900)
  })

  it.each<[string, (ws: WebSocket) => void, number]>([
    ['an oversized frame', (ws) => ws.send('x'.repeat(4097)), SignalCloseCode.MessageTooBig],
    ['a binary frame', (ws) => ws.send(Buffer.from([1, 2, 3])), SignalCloseCode.UnsupportedData],
    ['invalid UTF-8', (ws) => ws.send(Buffer.from([0x22, 0xff, 0x22]), { binary: false }), 1007],
    [
      'a flood of frames',
      (ws) => Array.from({ length: 200 }, () => ws.send('{}')),
      SignalCloseCode.PolicyViolation,
    ],
    ['nothing at all (never joins)', () => undefined, SignalCloseCode.JoinTimeout],
  ])('closes a connection that sends %s', async (_name, act, code) => {
    const socket = await RawSocket.open(sfu.url)
    act(socket.ws)
    expect(await socket.closed()).toBe(code)
  })

  it('drops a client that joins but never answers the offer, then times it out', async () => {
    const socket = await RawSocket.open(sfu.url)
    const token = await sfu.token('mute', 5)
    socket.ws.send(
      JSON.stringify({
        v: 1,
        type: 'join',
        token,
        channel: 'mute',
        uid: 5,
        capabilities: { audio: true, video: true },
      }),
    )
    const seen: string[] = []
    for (;;) {
      const answer = await socket.next()
      if (answer.kind !== 'message') {
        expect(answer).toMatchObject({ kind: 'close', code: SignalCloseCode.ProtocolError })
        break
      }
      seen.push(answer.message.type === 'error' ? answer.message.code : answer.message.type)
    }
    expect(seen).toEqual(['joined', 'offer', SignalErrorCode.NegotiationTimeout])
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(sfu.server.channels().find((c) => c.name === 'mute')).toBeUndefined()
  })

  it('shrugs off raw garbage on the port: closes it, counts it, and still serves a join', async () => {
    const malformed = () => metric(sfu.server.registry, 'http_client_errors_total', { reason: 'malformed' })
    const before = await malformed()
    const socket = connect(sfu.server.port, '127.0.0.1')
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.write('\x16\x03\x01 this is not HTTP\r\n\r\n')
    await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    expect(await malformed()).toBe(before + 1)

    const next = await sfu.join('after-garbage', 20)
    expect(next.messages.some((m) => m.type === 'joined')).toBe(true)
    expect(next.pc.connectionState).toBe('connected')
    await next.close()
  })

  it('lost nothing of the healthy call, and still serves', async () => {
    for (const client of healthy) client.stopMedia()
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const [to, from] of [
      [healthy[0]!, healthy[1]!],
      [healthy[1]!, healthy[0]!],
    ] as const) {
      for (const kind of ['audio', 'video'] as const) {
        const track = to.received.get(`${from.options.uid}:${kind}`)!
        const counters = [...track.counters]
        // Every packet from the first one received to the last one sent arrived, intact.
        expect(Math.max(...counters) - Math.min(...counters) + 1 - counters.length).toBe(0)
        expect(Math.max(...counters)).toBe(from.sent[kind] - 1)
        expect(track.corrupt).toBe(0)
      }
      expect(
        to.messages.filter((m) => m.type === 'error' || m.type === 'kicked' || m.type === 'userLeft'),
      ).toEqual([])
    }
    expect(sfu.server.health().ok).toBe(true)
    expect(await metric(sfu.server.registry, 'bad_messages_total', { code: 'bad_message' })).toBeGreaterThan(
      100,
    )
    const late = await sfu.join('after', 9)
    healthy.push(late)
  })
})

describe('a connection that keeps sending bad messages', () => {
  it('is closed after maxBadMessages (1008)', async () => {
    const sfu = await startSfu({ maxBadMessages: 5 })
    const socket = await RawSocket.open(sfu.url)
    for (let i = 0; i < 5; i++) socket.ws.send('nope')
    expect(await socket.closed()).toBe(SignalCloseCode.PolicyViolation)
    await sfu.server.close()
  })
})

describe('a participant that toggles its screen share as fast as it may (issue 13 signaling, attacked)', () => {
  let sfu: Sfu
  const clients: TestClient[] = []
  afterAll(() => closeAll(clients, sfu))

  const offers = (client: TestClient): number => client.messages.filter((m) => m.type === 'offer').length
  const toggles = (client: TestClient, n: number): void => {
    for (let i = 0; i < n; i++) {
      client.sendRaw({ v: 1, type: i % 2 === 0 ? 'publish' : 'unpublish', kind: 'screen' })
      if (i % 4 === 0) client.sendRaw({ v: 1, type: 'keyframeRequest', uid: 1, kind: 'screen' })
    }
  }

  it('paced under the flood guard: every burst is answered and the others’ call goes on', async () => {
    sfu = await startSfu({})
    const [a, b] = [await sfu.join('toggle', 1), await sfu.join('toggle', 2)]
    clients.push(a, b)
    for (const client of [a, b]) client.startMedia()
    await a.until(() => (receives(a, 2, 'video', 5) && receives(b, 1, 'video', 5)) || undefined, 'media')
    const attacker = await sfu.join('toggle', 3, {
      publish: { audio: false, video: false, screen: true },
      displayName: '王芳',
    })
    clients.push(attacker)
    const offersBefore = offers(a)
    const receivedBefore = a.received.get('2:video')!.counters.size
    // 400 publish/unpublish toggles in bursts of 40 frames (the server's in-flight limit is 64).
    for (let burst = 0; burst < 10; burst++) {
      toggles(attacker, 32)
      attacker.sendRaw({ v: 1, type: 'ping', ts: burst })
      await attacker.until(
        () => attacker.messages.find((m) => m.type === 'pong' && m.ts === burst),
        `the server answers burst ${burst}`,
        15_000,
      )
    }
    expect(attacker.closeCode).toBeUndefined()
    await a.until(
      () => (a.received.get('2:video')!.counters.size > receivedBefore + 30 ? true : undefined),
      'video after the toggles',
      15_000,
    )
    for (const victim of [a, b]) {
      expect(victim.messages.filter((m) => m.type === 'error' || m.type === 'kicked')).toEqual([])
    }
    // The share's slot opens and closes without media (this client sends none), so no track reaches the
    // others: no offer may come to them from it.
    expect(offers(a) - offersBefore).toBe(0)
    expect(sfu.server.health().ok).toBe(true)
  }, 90_000)

  it('all at once: the flood guard closes the attacker (1008) and the others do not notice', async () => {
    const [a, b] = clients
    const attacker = await sfu.join('toggle', 4, { publish: { audio: false, video: false, screen: true } })
    clients.push(attacker)
    toggles(attacker, 400)
    expect(await attacker.closed(15_000)).toBe(SignalCloseCode.PolicyViolation)
    for (const victim of [a!, b!]) {
      expect(victim.messages.filter((m) => m.type === 'error' || m.type === 'kicked')).toEqual([])
    }
    expect(sfu.server.health().ok).toBe(true)
  }, 60_000)
})
