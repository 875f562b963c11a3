/**
 * The join with the upgrade at the conference server (docs/sfu.md "Join with the upgrade", issue 15): a
 * `Pinhole-Join` header is taken as the connection's first `join` — checked exactly as the message (a bad
 * token is refused with the same error and close), answered with `joined` and the offer without any client
 * message; a malformed header is refused before the upgrade; the `join` message path is unchanged. A real
 * ConferenceServer on loopback.
 */
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { mintJoinToken } from '../../protocol/auth/joinToken'
import { encodeJoinHeader } from '../../protocol/auth/joinHeader'
import { SfuConfigSchema } from '../config'
import { ConferenceServer } from './conferenceServer'

const app = { appKey: 'app', secret: 'secret-0123456789abcdef' }
const capabilities = { audio: true, video: false }

let server: ConferenceServer
beforeAll(async () => {
  const config = SfuConfigSchema.parse({ port: 0 })
  server = await ConferenceServer.start(config, { apps: [app], logger: pino({ level: 'silent' }) })
})
afterAll(() => server?.close())

interface Seen {
  status?: number
  accepted?: boolean
  messages: { type: string; code?: string; ref?: string }[]
  close?: number
}

/** Opens with `headers`, sends `send` once open; what came back until `until` matched or the close. */
async function open(
  headers: Record<string, string>,
  until: (seen: Seen) => boolean,
  send: object[] = [],
): Promise<Seen> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/signal`, { headers })
  ws.on('error', () => undefined)
  const seen: Seen = { messages: [] }
  try {
    return await new Promise<Seen>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve({ ...seen, status: res.statusCode ?? 0 }))
      ws.once('upgrade', (res) => (seen.accepted = res.headers['pinhole-join'] === 'accepted'))
      ws.once('open', () => send.forEach((message) => ws.send(JSON.stringify(message))))
      ws.on('message', (data) => {
        seen.messages.push(JSON.parse(String(data)) as Seen['messages'][number])
        if (until(seen)) resolve(seen)
      })
      ws.once('close', (code) => resolve({ ...seen, close: code }))
    })
  } finally {
    ws.terminate()
  }
}

const token = (channel: string, uid: number) => mintJoinToken({ ...app, channel, uid, ttlSeconds: 60 })
const types = (seen: Seen): string[] => seen.messages.map((m) => m.type)
const offered = (seen: Seen): boolean => types(seen).includes('offer')

describe('conference server: the join in the upgrade header', () => {
  it('answers joined and the offer without a client message', async () => {
    const header = encodeJoinHeader({ token: await token('hall', 1), channel: 'hall', uid: 1, capabilities })
    const seen = await open({ 'Pinhole-Join': header }, offered)
    expect(seen.accepted).toBe(true)
    expect(types(seen)).toEqual(['joined', 'offer'])
  })

  it('refuses a bad token as it refuses the join message: error {ref: join}, close 4003', async () => {
    const wrong = await token('other-room', 2)
    const header = encodeJoinHeader({ token: wrong, channel: 'hall', uid: 2, capabilities })
    const viaHeader = await open({ 'Pinhole-Join': header }, () => false)
    const viaMessage = await open({}, () => false, [
      { v: 1, type: 'join', token: wrong, channel: 'hall', uid: 2, capabilities },
    ])
    expect(viaHeader).toMatchObject({
      accepted: true,
      close: 4003,
      messages: [{ type: 'error', code: 'token_channel_mismatch', ref: 'join' }],
    })
    expect(viaMessage.messages).toEqual(viaHeader.messages)
    expect(viaMessage.close).toBe(4003)
  })

  it('refuses a header that is not a join before the upgrade (400)', async () => {
    const leave = Buffer.from('{"v":1,"type":"leave"}').toString('base64url')
    for (const header of [leave, 'not base64url!', Buffer.from('{').toString('base64url')]) {
      expect(await open({ 'Pinhole-Join': header }, () => false)).toMatchObject({ status: 400 })
    }
  })

  it('a join message after the header’s join is already_joined; without the header the message joins', async () => {
    const header = encodeJoinHeader({ token: await token('hall', 3), channel: 'hall', uid: 3, capabilities })
    const second = {
      v: 1,
      type: 'join',
      token: await token('hall', 3),
      channel: 'hall',
      uid: 3,
      capabilities,
    }
    const twice = await open(
      { 'Pinhole-Join': header },
      (seen) => seen.messages.some((m) => m.type === 'error'),
      [second],
    )
    expect(twice.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'already_joined' }))
    const plain = await open({}, offered, [{ ...second, uid: 4, token: await token('hall', 4) }])
    expect(plain.accepted).toBe(false)
    expect(types(plain)).toEqual(['joined', 'offer'])
  })
})
