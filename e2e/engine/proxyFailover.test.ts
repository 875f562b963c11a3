/**
 * Several proxies per region (issue 14 item 5, acceptance 5), every server a real `pinhole-server` process:
 * one conference server; region `sh` with TWO proxies (127.0.0.1 and 127.0.0.2, the same ports, the same
 * certificate and TURN secret, both relaying to the conference server); region `bj` with a third proxy
 * (127.0.0.3, its own secret) that probes slower. Two engines (region `auto`, one UDP proxy, one TCP proxy)
 * call through sh's first proxy; it is SIGKILLed mid-call → both reconnect through sh's SECOND proxy (not
 * bj) with reason reDispatch, and content-checked frames flow again. First, TURN credentials minted by one
 * proxy of sh allocate on the other one (shared secret), and are refused by bj's (another secret).
 */
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backoffPolicy, probeRegion, requestProxySession, type RegionProber } from '../../src/engine'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import { StunClass } from '../../src/protocol/stun/constants'
import { getAttr } from '../../src/protocol/stun/message'
import type { ServerConfigInput } from '../../src/server/config'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  regionAt,
  type Region,
} from '../../src/shared/engine'
import { generateTestCert, type TestCert } from '../support/certs'
import { startServerProcess, type ServerProcess } from '../support/serverProcess'
import { freePort } from '../support/tools'
import { TestTurnClient } from '../support/turnClient'
import { checkedFramesFrom, makePeer, until, type Peer } from './harness'

const APP = { appKey: 'hosts', secret: 'hosts-app-secret-0123456789' }
const SH_SECRET = 'sh-turn-secret-0123456789abcdef'
const BJ_SECRET = 'bj-turn-secret-0123456789abcdef'
const [SH1, SH2, BJ] = ['127.0.0.1', '127.0.0.2', '127.0.0.3']
const RELAY_PORTS: Record<string, [number, number]> = {
  [SH1]: [61000, 61999],
  [SH2]: [62000, 62999],
  [BJ]: [63000, 63999],
}

interface Ports {
  udp: [number, number]
  tcp: number
}

const servers = new Map<string, ServerProcess>()
let sh: Region
let bj: Region

function proxyConfig(
  dir: string,
  host: string,
  region: string,
  ports: Ports,
  secret: string,
  upstream: string,
): ServerConfigInput {
  return {
    log: { level: 'info' },
    apps: [APP],
    proxy: {
      region,
      publicAddress: host,
      listenHost: host,
      ports,
      // Above the kernel's ephemeral range (32768-60999), where the listening ports came from.
      relay: { listenHost: host, portRange: RELAY_PORTS[host]! },
      tls: { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` },
      turnSecret: secret,
      peers: { allow: ['127.0.0.0/8'], allowLoopback: true },
      signal: { upstream },
    },
    admin: { host: '127.0.0.1', port: 0 },
  }
}

function startProxy(
  host: string,
  region: string,
  ports: Ports,
  secret: string,
  cert: TestCert,
  upstream: string,
) {
  const files = [
    { name: 'cert.pem', content: cert.certPem },
    { name: 'key.pem', content: cert.keyPem },
  ]
  return startServerProcess((dir) => proxyConfig(dir, host, region, ports, secret, upstream), {
    label: `proxy-${host}`,
    files,
  })
}

const freePorts = async (): Promise<Ports> => ({
  udp: [await freePort('udp'), await freePort('udp')],
  tcp: await freePort('tcp'),
})

const fingerprint = (cert: TestCert): string => new X509Certificate(cert.certPem).fingerprint256

beforeAll(async () => {
  const sfuPort = await freePort('tcp')
  const [shCert, bjCert] = await Promise.all([
    generateTestCert({ ips: [SH1, SH2] }),
    generateTestCert({ ips: [BJ] }),
  ])
  const [shPorts, bjPorts] = [await freePorts(), await freePorts()]
  const upstream = `ws://127.0.0.1:${sfuPort}/v1/signal`
  const sfuConfig = (): ServerConfigInput => ({
    log: { level: 'info' },
    apps: [APP],
    sfu: {
      enabled: true,
      listenHost: '127.0.0.1',
      port: sfuPort,
      announcedAddress: '127.0.0.1',
      keyframeMinIntervalMs: 50,
    },
    admin: { host: '127.0.0.1', port: 0 },
  })
  const started = await Promise.all([
    startServerProcess(sfuConfig, { label: 'sfu' }),
    startProxy(SH1, 'sh', shPorts, SH_SECRET, shCert, upstream),
    startProxy(SH2, 'sh', shPorts, SH_SECRET, shCert, upstream),
    startProxy(BJ, 'bj', bjPorts, BJ_SECRET, bjCert, upstream),
  ])
  ;['sfu', SH1, SH2, BJ].forEach((name, i) => servers.set(name, started[i]!))
  sh = {
    id: 'sh',
    name: 'Shanghai',
    proxyHost: SH1,
    proxyHosts: [SH1, SH2],
    ports: shPorts,
    tlsFingerprintSha256: fingerprint(shCert),
  }
  bj = { id: 'bj', name: 'Beijing', proxyHost: BJ, ports: bjPorts, tlsFingerprintSha256: fingerprint(bjCert) }
}, 60_000)
afterAll(async () => {
  // Allocations werift never released would hold a graceful drain for its whole budget: do not wait.
  await Promise.allSettled([...servers.values()].map((server) => server.stop(500)))
})

const token = (channel: string, uid: number): Promise<string> =>
  mintJoinToken({ ...APP, channel, uid, ttlSeconds: 120 })

/** The real probe; bj 50 ms farther, and sh's second proxy 20 ms farther than its first. */
const fromOffice: RegionProber = async (region, options) => {
  const result = await probeRegion(region, options)
  if (region.id === 'bj') return { ...result, rttMs: (result.rttMs ?? 0) + 50 }
  const hosts = [...(result.hosts ?? [])].sort((a, b) => Number(a.host === SH2) - Number(b.host === SH2))
  return { ...result, hosts }
}

function autoPeer(uid: number, mode: TransportType): Peer {
  const peer = makePeer({ region: sh }, uid, mode, {
    regions: [sh, bj],
    probeRegion: fromOffice,
    call: { reconnect: backoffPolicy({ baseDelayMs: 100, maxDelayMs: 500, budgetMs: 15_000 }) },
  })
  expect(peer.engine.setRegion('auto')).toBe(0)
  return peer
}

async function allocateWith(host: string, port: number, turn: { username: string; credential: string }) {
  const client = await TestTurnClient.connect('udp', host, port, {
    username: turn.username,
    password: turn.credential,
  })
  try {
    const answer = await client.allocate()
    return { cls: answer.cls, code: getAttr(answer, 'ERROR_CODE')?.code }
  } finally {
    client.close()
  }
}

describe('a region with two proxies', () => {
  it('TURN credentials minted by one proxy of the region allocate on the other (and not in another region)', async () => {
    const fromSh1 = await requestProxySession(regionAt(sh, SH1), await token('creds', 7))
    expect(fromSh1.info.turn.username).toMatch(/:hosts:7$/)
    expect(await allocateWith(SH2, sh.ports.udp[0], fromSh1.info.turn)).toEqual({
      cls: StunClass.SuccessResponse,
      code: undefined,
    })
    // The control: bj's proxy has its own secret, so the same credentials fail the integrity check there.
    expect(await allocateWith(BJ, bj.ports.udp[0], fromSh1.info.turn)).toMatchObject({
      cls: StunClass.ErrorResponse,
      code: 401,
    })
  })

  it('the first proxy SIGKILLed mid-call → both engines on the second proxy of sh (reDispatch), frames again', async () => {
    const a = autoPeer(81, TransportType.UDPProxy)
    const b = autoPeer(82, TransportType.TCPProxy)
    const why = (peer: Peer): string =>
      JSON.stringify({
        uid: peer.uid,
        states: peer.states,
        proxyConnected: peer.proxyConnected.map((i) => [i.regionId, i.transport, i.proxyAddress]),
        errors: peer.errors,
      })
    try {
      expect(await a.engine.joinChannel(await token('hosts', 81), 'hosts', 81)).toBe(0)
      expect(await b.engine.joinChannel(await token('hosts', 82), 'hosts', 82)).toBe(0)
      for (const peer of [a, b]) {
        expect(
          peer.proxyConnected.map((i) => [i.regionId, hostOf(i.proxyAddress)]),
          why(peer),
        ).toEqual([['sh', SH1]])
      }
      a.startMedia()
      b.startMedia()
      await until(() => a.video.length >= 5 && b.video.length >= 5, 'video through the first proxy', 8000)

      const killed = Date.now()
      await servers.get(SH1)!.kill()
      const movedMs: number[] = []
      for (const peer of [a, b]) {
        await until(
          () => peer.states.at(-1)?.[1] === R.ReDispatch,
          `uid ${peer.uid} on sh's second proxy`,
          15_000,
        )
        movedMs.push(Date.now() - killed)
      }
      console.log(`first proxy SIGKILLed → Connected through the second: ${movedMs.join(' ms, ')} ms`)
      for (const peer of [a, b]) {
        const after = peer.states.slice(3)
        expect(after[0]![0], why(peer)).toBe(S.Reconnecting)
        expect(after.slice(-2), why(peer)).toEqual([
          [S.Reconnecting, R.SettingProxyServer],
          [S.Connected, R.ReDispatch],
        ])
        expect(
          after.some(([state]) => state === S.Failed),
          why(peer),
        ).toBe(false)
        // The second proxy of the same region, never bj.
        expect(
          peer.proxyConnected.map((i) => [i.regionId, hostOf(i.proxyAddress)]),
          why(peer),
        ).toEqual([
          ['sh', SH1],
          ['sh', SH2],
        ])
      }
      const [beforeA, beforeB] = [checkedFramesFrom(a, b), checkedFramesFrom(b, a)]
      await until(
        () =>
          a.video.filter((f) => f.uid === b.uid).length >= beforeA + 5 &&
          b.video.filter((f) => f.uid === a.uid).length >= beforeB + 5,
        "video again through sh's second proxy",
        8000,
      )
      checkedFramesFrom(a, b)
      checkedFramesFrom(b, a)
      expect(a.errors.concat(b.errors), JSON.stringify([a.states, b.states])).toEqual([])
    } finally {
      a.stopMedia()
      b.stopMedia()
      await Promise.all([a.engine.release(), b.engine.release()])
    }
  }, 45_000)
})

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'))
}
