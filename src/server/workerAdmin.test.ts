import { Gauge, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { startAdminServer, type AdminServer, type Health } from './admin'
import { workerLoad, workerMetrics } from './workerAdmin'

const servers: AdminServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** A worker's admin listener as `start` serves it: the conference server's health under `sfu`. */
async function workerAdmin(sfu: Record<string, unknown>): Promise<number> {
  const registry = new Registry()
  new Gauge({ name: 'pinhole_sfu_participants', help: 'p', registers: [registry] }).set(2)
  const health = (): Health => ({ ok: sfu['ok'] === true, details: { sfu } })
  const server = await startAdminServer({ host: '127.0.0.1', port: 0, registry, health })
  servers.push(server)
  return server.port
}

describe("the parent's view of a worker's admin listener", () => {
  it('reads state and load from its /healthz, 503 included: up, draining', async () => {
    const up = await workerAdmin({ ok: true, draining: false, participants: 3, channels: 1 })
    expect(await workerLoad({ node: 'n-1', admin: up })).toEqual({
      state: 'up',
      participants: 3,
      channels: 1,
    })
    const draining = await workerAdmin({ ok: false, draining: true, participants: 2, channels: 1 })
    expect(await workerLoad({ node: 'n-2', admin: draining })).toEqual({
      state: 'draining',
      participants: 2,
      channels: 1,
    })
  })

  it('a closed port is not answering and has no series', async () => {
    const port = await workerAdmin({ ok: true })
    await servers.pop()!.close()
    expect(await workerLoad({ node: 'gone', admin: port })).toEqual({ state: 'not answering' })
    expect(await workerMetrics({ node: 'gone', admin: port })).toBeUndefined()
  })

  it("labels its series with the worker's node", async () => {
    const port = await workerAdmin({ ok: true })
    const families = await workerMetrics({ node: 'host-a-1', admin: port })
    expect(families).toEqual([
      expect.objectContaining({
        name: 'pinhole_sfu_participants',
        samples: ['pinhole_sfu_participants{node="host-a-1"} 2'],
      }),
    ])
  })
})
