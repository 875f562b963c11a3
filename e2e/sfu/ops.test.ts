import { describe, expect, it } from 'vitest'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import { DevTokenResponseSchema } from '../../src/shared/signaling'
import { TestClient } from './client'
import { APP, closeAll, metric, type Sfu, startSfu } from './harness'

async function postToken(
  sfu: Sfu,
  body: unknown,
  method = 'POST',
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://127.0.0.1:${sfu.server.port}/v1/token`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  })
  return { status: res.status, json: await res.json() }
}

describe('operations', () => {
  it('serves POST /v1/token only with devTokens, and its tokens join', async () => {
    const off = await startSfu()
    const on = await startSfu({ devTokens: true })
    try {
      expect((await postToken(off, { appKey: APP.appKey, channel: 'dev', uid: 3 })).status).toBe(404)

      const minted = await postToken(on, { appKey: APP.appKey, channel: 'dev', uid: 3 })
      expect(minted.status).toBe(200)
      const { token } = DevTokenResponseSchema.parse(minted.json)
      const client = await TestClient.connect({ url: on.url, token, channel: 'dev', uid: 3 })
      expect(await client.joined()).toMatchObject({ uid: 3, channel: 'dev' })
      await client.close()

      expect((await postToken(on, { appKey: 'nope', channel: 'dev', uid: 3 })).status).toBe(404)
      expect((await postToken(on, { appKey: APP.appKey, channel: 'dev', uid: 0 })).status).toBe(400)
      expect((await postToken(on, '{')).status).toBe(400)
      expect((await postToken(on, undefined, 'GET')).status).toBe(405)
    } finally {
      await Promise.all([off.server.close(), on.server.close()])
    }
  })

  it('exposes health and Prometheus metrics from its own registry', async () => {
    const sfu = await startSfu()
    const a = await sfu.join('ops', 1)
    try {
      expect(sfu.server.health()).toMatchObject({
        ok: true,
        details: { listening: true, draining: false, channels: 1, participants: 1, connections: 1 },
      })
      const text = await sfu.server.registry.metrics()
      for (const name of [
        'channels',
        'participants',
        'tracks',
        'forwarded_packets_total',
        'join_failures_total',
      ]) {
        expect(text).toContain(`pinhole_sfu_${name}`)
      }
      expect(await metric(sfu.server.registry, 'joins_total', { resumed: 'false' })).toBe(1)
      a.sendRaw({ v: 1, type: 'ping', ts: 42.5 })
      expect(await a.waitFor('pong')).toMatchObject({ ts: 42.5 })
    } finally {
      await closeAll([a], sfu)
    }
  })

  it('closes a channel on an admin call, kicking everyone (channelClosed)', async () => {
    const sfu = await startSfu()
    const a = await sfu.join('admin', 1)
    const b = await sfu.join('admin', 2)
    try {
      expect(sfu.server.closeChannel({ appKey: APP.appKey, name: 'admin' })).toBe(true)

      for (const client of [a, b]) {
        expect(await client.waitFor('kicked')).toMatchObject({ reason: 'channelClosed' })
        expect(await client.closed()).toBe(SignalCloseCode.Kicked)
      }
      expect(sfu.server.channels()).toEqual([])
      expect(sfu.server.closeChannel({ appKey: APP.appKey, name: 'admin' })).toBe(false)
    } finally {
      await closeAll([a, b], sfu)
    }
  })

  it('drains: refuses new joins, lets the call finish, then closes', async () => {
    const sfu = await startSfu()
    const a = await sfu.join('drain', 1)
    try {
      let drained = false
      const draining = sfu.server.drain({ timeoutMs: 5000 }).then(() => {
        drained = true
      })

      const late = await sfu.connect('drain', 2)
      expect(await late.waitFor('error')).toMatchObject({ code: SignalErrorCode.ServerDraining })
      expect(await late.closed()).toBe(SignalCloseCode.TryAgainLater)
      expect(sfu.server.health()).toMatchObject({ ok: false, details: { draining: true } })
      expect(drained).toBe(false)

      a.leave()
      await draining
      expect(drained).toBe(true)
      await late.close()
    } finally {
      await closeAll([a], sfu)
    }
  })

  it('on close, kicks everyone with serverShutdown (1001)', async () => {
    const sfu = await startSfu()
    const a = await sfu.join('bye', 1)
    await sfu.server.close()

    expect(await a.waitFor('kicked')).toMatchObject({ reason: 'serverShutdown' })
    expect(await a.closed()).toBe(SignalCloseCode.GoingAway)
    expect(sfu.server.health().ok).toBe(false)
    await a.close()
  })
})
