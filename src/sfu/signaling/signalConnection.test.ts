import { once } from 'node:events'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { FakeClock } from '../../../e2e/support/fakeClock'
import { SIGNAL_VERSION } from '../../shared/signaling'
import { SfuConfigSchema } from '../config'
import { ConferenceServer } from './conferenceServer'

/** Long enough that no real timer could fire during the test: only the fake clock moves it. */
const KEEPALIVE_MS = 60_000

let server: ConferenceServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A signaling socket that counts the protocol pings it gets; `autoPong: false` never answers them. */
async function connect(url: string, autoPong: boolean) {
  const ws = new WebSocket(url, { autoPong })
  const seen = { pings: 0 }
  ws.on('ping', () => seen.pings++)
  await once(ws, 'open')
  return { ws, seen }
}

/** Resolves once every frame `ws` sent so far (a pong included) has been handled: an app ping answered. */
async function roundTrip(ws: WebSocket): Promise<void> {
  const ts = Math.random()
  ws.send(JSON.stringify({ v: SIGNAL_VERSION, type: 'ping', ts }))
  for (;;) {
    const [data] = (await once(ws, 'message')) as [Buffer]
    if ((JSON.parse(data.toString('utf8')) as { ts?: number }).ts === ts) return
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  expect(check()).toBe(true)
}

describe('signaling keepalive', () => {
  it('pings every keepaliveMs of the injected clock and drops the socket that missed a pong', async () => {
    const clock = new FakeClock()
    // No join timeout within the test: only the keepalive decides.
    const config = SfuConfigSchema.parse({ port: 0, keepaliveMs: KEEPALIVE_MS, joinTimeoutMs: 600_000 })
    server = await ConferenceServer.start(config, { apps: [], logger: pino({ level: 'silent' }), clock })
    const url = `ws://127.0.0.1:${server.port}/v1/signal`
    const answering = await connect(url, true)
    const silent = await connect(url, false)
    const silentClosed = once(silent.ws, 'close')

    await clock.advance(KEEPALIVE_MS - 1)
    await roundTrip(answering.ws)
    expect([answering.seen.pings, silent.seen.pings]).toEqual([0, 0])

    await clock.advance(1)
    await until(() => answering.seen.pings === 1 && silent.seen.pings === 1)
    await roundTrip(answering.ws)

    // The second round: the silent socket still owes its pong and is dropped; the other is pinged again.
    await clock.advance(KEEPALIVE_MS)
    const [code] = (await silentClosed) as [number]
    expect(code).toBe(1006)
    await until(() => answering.seen.pings === 2)
    expect(answering.ws.readyState).toBe(WebSocket.OPEN)
    await until(() => server?.health().details.connections === 1)
    answering.ws.close()
  })
})

describe('the sfu listening line', () => {
  it('says which SRTP send forwarding uses (the native one when the addon is built)', async () => {
    const lines: Record<string, unknown>[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
    server = await ConferenceServer.start(SfuConfigSchema.parse({ port: 0 }), { apps: [], logger })
    const listening = lines.find((line) => line.msg === 'sfu listening')
    expect(listening).toMatchObject({ port: server.port, srtpSend: 'native' })
  })
})
