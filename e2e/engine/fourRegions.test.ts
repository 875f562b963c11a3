/**
 * The four regions of the shipped example (resources/regions.example.json: Shanghai, Beijing, Guangzhou,
 * Chengdu; issue 13 item 7), each a real ProxyServer on loopback in front of one conference server, with the
 * example's ids and names. Region `auto` probes all four with the real probe; a per-region offset stands in
 * for the distance from an office in Chengdu (the proxies are all on loopback), so the pick is by RTT: Chengdu
 * first, then Guangzhou once Chengdu's proxy is down.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRegions, probeRegion, type RegionProber } from '../../src/engine'
import { TransportType, type Region, type RegionProbeResult } from '../../src/shared/engine'
import { startCallStack, startProxyRegion, type CallStack, type ProxyRegion } from '../support/callStack'
import { makePeer } from './harness'

const EXAMPLE = parseRegions(
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../resources/regions.example.json'), 'utf8')),
)

/** Milliseconds added to each region's measured round trip: an office in Chengdu. */
const DISTANCE_MS: Record<string, number> = { shanghai: 40, beijing: 60, guangzhou: 25, chengdu: 5 }

const fromChengdu: RegionProber = async (region, options) => {
  const result = await probeRegion(region, options)
  const extra = DISTANCE_MS[region.id] ?? 0
  return result.rttMs === undefined ? result : { ...result, rttMs: result.rttMs + extra }
}

let stack: CallStack
const others: ProxyRegion[] = []
let regions: Region[] = []

beforeAll(async () => {
  stack = await startCallStack({}, 'shanghai')
  for (const example of EXAMPLE.slice(1)) others.push(await startProxyRegion(stack.sfuUrl, example.id))
  const loopback = [stack.region, ...others.map((o) => o.region)]
  // The example's ids and names, each pointing at its loopback proxy.
  regions = EXAMPLE.map((example, i) => ({ ...loopback[i]!, id: example.id, name: example.name }))
})
afterAll(async () => {
  for (const other of others) await other.proxy.close()
  await stack?.close()
})

async function joinAuto(uid: number): Promise<{ probes: RegionProbeResult[]; regionId?: string }> {
  const peer = makePeer(stack, uid, TransportType.UDPProxy, { regions, probeRegion: fromChengdu })
  const probes: RegionProbeResult[] = []
  peer.engine.on('regionProbe', (result) => probes.push(result))
  expect(peer.engine.setRegion('auto')).toBe(0)
  try {
    expect(await peer.engine.joinChannel(await stack.token('four', uid), 'four', uid)).toBe(0)
    return { probes, regionId: peer.proxyConnected[0]?.regionId }
  } finally {
    await peer.engine.release()
  }
}

describe('the four example regions', () => {
  it('ships Shanghai, Beijing, Guangzhou and Chengdu on documentation addresses, marked as examples', () => {
    expect(EXAMPLE.map((r) => r.id)).toEqual(['shanghai', 'beijing', 'guangzhou', 'chengdu'])
    expect(EXAMPLE[0]!.proxyHosts).toEqual(['203.0.113.10', '203.0.113.11'])
    for (const region of EXAMPLE) {
      expect(region.name).toMatch(/\(example\)$/)
      // RFC 5737 TEST-NETs or RFC 2606 example.com: nothing a copy of the file could reach by mistake
      // (every host of a region with several proxies: Shanghai shows `proxyHosts`).
      for (const host of [region.proxyHost, ...(region.proxyHosts ?? [])]) {
        expect(host).toMatch(
          /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$|^[a-z0-9-]+(\.[a-z0-9-]+)*\.example\.com$/,
        )
      }
      expect(region.ports).toEqual({ udp: [3478, 7070], tcp: 443 })
    }
  })

  it('auto probes all four and joins through the lowest RTT; without it, the next lowest', async () => {
    const first = await joinAuto(301)
    expect(first.probes.map((p) => p.regionId).sort()).toEqual(
      ['beijing', 'chengdu', 'guangzhou', 'shanghai'].sort(),
    )
    expect(first.probes.every((p) => p.reachable)).toBe(true)
    expect(first.regionId).toBe('chengdu')

    // Chengdu's proxy goes away: the probe finds it unreachable and the pick is Guangzhou.
    await others.find((o) => o.region.id === 'chengdu')!.proxy.close()
    const second = await joinAuto(302)
    expect(second.probes.find((p) => p.regionId === 'chengdu')?.reachable).toBe(false)
    expect(second.regionId).toBe('guangzhou')
  })
})
