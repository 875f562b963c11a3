import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../../e2e/support/fakeClock'
import { mintJoinToken } from '../../protocol/auth/joinToken'
import { SignalCloseCode, type SignalErrorCode } from '../../shared/codes'
import type { ServerMessageBody } from '../../shared/signaling'
import { Conference, type JoiningConnection } from './conference'
import { SfuConfigSchema } from '../config'
import { SfuError } from '../errors'
import { SfuMetrics } from '../metrics'
import type { Participant } from './participant'

const app = { appKey: 'app', secret: 'secret-0123456789abcdef' }
/** Long enough that no real timer could end it during a test: only the fake clock does. */
const GRACE_MS = 60_000

/** A signaling connection without a socket: records what the server sends and how it closes. */
class FakeConnection implements JoiningConnection {
  readonly sent: ServerMessageBody[] = []
  closeCode: number | undefined
  participant: Participant | undefined

  get isOpen(): boolean {
    return this.closeCode === undefined
  }
  send(body: ServerMessageBody): void {
    this.sent.push(body)
  }
  close(code: number): void {
    this.closeCode ??= code
    this.participant?.detach(this)
  }
  refuse(code: SignalErrorCode, message: string): void {
    this.send({ type: 'error', code, message, ref: 'join' })
    this.close(SignalCloseCode.JoinRefused)
  }
  bind(participant: Participant): void {
    this.participant = participant
  }
}

async function setup(clock = new FakeClock()) {
  const config = SfuConfigSchema.parse({ port: 0, reconnectGraceMs: GRACE_MS })
  const conference = new Conference({
    config,
    apps: [app],
    metrics: new SfuMetrics(),
    logger: pino({ level: 'silent' }),
    clock,
  })
  const join = async (uid: number, channel = 'c') => {
    const connection = new FakeConnection()
    const token = await mintJoinToken({ ...app, channel, uid, ttlSeconds: 60 })
    await conference.join(connection, {
      v: 1,
      type: 'join',
      token,
      channel,
      uid,
      capabilities: { audio: true, video: true },
    })
    return connection
  }
  return { conference, join, clock }
}

describe('closing cascades', () => {
  it('closes a channel’s participants and peer connections, and they reject calls afterwards', async () => {
    const { conference, join } = await setup()
    const [a, b] = [await join(1), await join(2)]
    const participant = a.participant!

    expect(conference.closeChannel({ appKey: app.appKey, name: 'c' })).toBe(true)

    for (const connection of [a, b]) {
      expect(connection.sent.at(-1)).toMatchObject({ type: 'kicked', reason: 'channelClosed' })
      expect(connection.closeCode).toBe(SignalCloseCode.Kicked)
    }
    expect(participant.state).toBe('closed')
    expect(participant.peer.isClosed).toBe(true)
    expect(conference.snapshot()).toEqual([])
    await expect(participant.handle({ v: 1, type: 'renegotiate' })).rejects.toThrow(SfuError)
    expect(() => participant.peer.requestNegotiation()).toThrow(/closed/)
  })

  it('removes a participant whose connection drops once the grace period is over', async () => {
    const { conference, join, clock } = await setup()
    const [a, b] = [await join(1), await join(2)]

    a.close(SignalCloseCode.Normal)
    const states = () => conference.snapshot()[0]?.participants.map((p) => [p.uid, p.state])
    expect(states()).toEqual([
      [1, 'disconnected'],
      [2, 'connected'],
    ])
    // The grace period runs on the injected clock: a millisecond short of it, nothing has happened.
    await clock.advance(GRACE_MS - 1)
    expect(states()).toEqual([
      [1, 'disconnected'],
      [2, 'connected'],
    ])
    expect(b.sent).not.toContainEqual(expect.objectContaining({ type: 'userLeft' }))
    await clock.advance(1)

    expect(b.sent).toContainEqual({ type: 'userLeft', uid: 1, reason: 'timeout' })
    expect(conference.snapshot()[0]?.participants.map((p) => p.uid)).toEqual([2])
    conference.close()
    expect(b.sent.at(-1)).toMatchObject({ type: 'kicked', reason: 'serverShutdown' })
    expect(b.closeCode).toBe(SignalCloseCode.GoingAway)
  })

  it('forgets an empty channel, and a later join opens a new one', async () => {
    const { conference, join } = await setup()
    const a = await join(1)
    await a.participant!.handle({ v: 1, type: 'leave' })
    expect(conference.snapshot()).toEqual([])

    const again = await join(1)
    expect(again.sent[0]).toMatchObject({ type: 'joined', resumed: false, participants: [] })
    conference.close()
  })
})

describe('drain and move (docs/scaling.md "Drain")', () => {
  it('moveAll: every participant gets rejoin, its socket closes 4007, the channel closes', async () => {
    const { conference, join } = await setup()
    const [a, b] = [await join(1), await join(2)]

    expect(conference.moveAll('node draining')).toBe(2)
    for (const connection of [a, b]) {
      expect(connection.sent).toContainEqual({ type: 'rejoin', reason: 'moved', message: 'node draining' })
      expect(connection.closeCode).toBe(SignalCloseCode.Moved)
      expect(connection.participant?.state).toBe('closed')
    }
    expect(conference.snapshot()).toEqual([])
  })

  it('draining with openChannels: a late joiner joins its call here; a join that would open a channel is refused', async () => {
    const { conference, join } = await setup()
    await join(1, 'call')
    conference.startDraining({ openChannels: true })

    const late = await join(2, 'call')
    expect(late.sent[0]).toMatchObject({ type: 'joined', participants: [{ uid: 1 }] })
    const fresh = await join(3, 'new')
    expect(fresh.sent[0]).toMatchObject({ type: 'error', code: 'server_draining' })

    // Without openChannels (a node on its own), every new join is refused, as before.
    const { conference: alone, join: joinAlone } = await setup()
    await joinAlone(1, 'call')
    alone.startDraining()
    expect((await joinAlone(2, 'call')).sent[0]).toMatchObject({ type: 'error', code: 'server_draining' })
    conference.close()
    alone.close()
  })
})
