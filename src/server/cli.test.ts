import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { main, type CliIo } from './cli'
import type { ServerConfigInput } from './config'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const APPS = [{ appKey: 'app', secret: 'a-secret-of-16-chars' }]
const PROXY = {
  region: 'test',
  publicAddress: '127.0.0.1',
  listenHost: '127.0.0.1',
  ports: { udp: [0], tcp: 0 },
  relay: { listenHost: '127.0.0.1' },
  turnSecret: 'turn-secret-16-chars',
  peers: { allow: ['127.0.0.0/8'], allowLoopback: true },
  signal: { upstream: 'ws://127.0.0.1:9/v1/signal' },
} satisfies ServerConfigInput['proxy']
const SFU = { enabled: true, port: 0 } satisfies ServerConfigInput['sfu']

let files = 0
function configFile(config: ServerConfigInput): string {
  const file = join(dir, `config-${files++}.json`)
  writeFileSync(file, JSON.stringify({ log: { level: 'info' }, admin: { port: 0 }, ...config }))
  return file
}

interface LogLine {
  msg: string
  level: string
  [key: string]: unknown
}

/** An injected CliIo: captured output and log lines, signals from a plain emitter, exit recorded. */
function fakeIo() {
  const out: string[] = []
  const err: string[] = []
  const log: LogLine[] = []
  const signals = new EventEmitter()
  const exit = vi.fn<(code: number) => void>()
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    exit,
    signals,
    logDestination: { write: (line: string) => log.push(JSON.parse(line) as LogLine) },
  }
  return { io, out, err, log, signals, exit }
}

/** Runs `start` until its `started` log line; the exit code promise stays pending until a signal. */
async function start(config: ServerConfigInput) {
  const fake = fakeIo()
  const exitCode = main(['start', '--config', configFile(config)], fake.io)
  const started = await new Promise<LogLine>((resolve, reject) => {
    const timer = setInterval(() => {
      const line = fake.log.find((l) => l.msg === 'started')
      if (line) {
        clearInterval(timer)
        resolve(line)
      }
    }, 10)
    void exitCode.then((code) => {
      clearInterval(timer)
      reject(new Error(`start exited ${code}: ${fake.err.join('')} ${JSON.stringify(fake.log)}`))
    })
  })
  const admin = `http://${String(started.admin)}`
  return { ...fake, exitCode, started, admin }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url)
  return { status: res.status, text: await res.text() }
}

describe('pinhole-server start', () => {
  it('runs the proxy and the conference server behind one admin listener, and drains both on SIGTERM', async () => {
    const run = await start({ apps: APPS, proxy: PROXY, sfu: SFU })
    expect(run.started.components).toEqual(['sfu', 'proxy'])

    const health = await get(`${run.admin}/healthz`)
    expect(health.status).toBe(200)
    const details = (JSON.parse(health.text) as { details: Record<string, Record<string, unknown>> }).details
    expect(Object.keys(details)).toEqual(['sfu', 'proxy'])
    expect(details.sfu).toMatchObject({ ok: true, listening: true, draining: false })
    expect(details.proxy).toMatchObject({ ok: true, draining: false, allocations: 0 })

    const metrics = await get(`${run.admin}/metrics`)
    expect(metrics.status).toBe(200)
    for (const name of ['pinhole_proxy_allocations', 'pinhole_sfu_channels', 'pinhole_sfu_participants']) {
      expect(metrics.text).toContain(`# TYPE ${name} gauge`)
    }
    expect(metrics.text).toContain('pinhole_sfu_forwarded_packets_total')
    // Process metrics once (not per registry), and the region on every series of the merged exposition.
    expect(metrics.text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1)
    expect(metrics.text).toContain('pinhole_sfu_channels{region="test"} 0')
    expect(metrics.text).toContain('pinhole_proxy_allocations{region="test"} 0')

    run.signals.emit('SIGTERM', 'SIGTERM')

    expect(await run.exitCode).toBe(0)
    expect(run.exit).not.toHaveBeenCalled()
    expect(run.log.map((l) => l.msg)).toEqual(expect.arrayContaining(['draining', 'stopped']))
    await expect(fetch(`${run.admin}/healthz`)).rejects.toThrow()
    await expect(
      fetch(String((run.started.sfu as { signal: string }).signal).replace('ws:', 'http:')),
    ).rejects.toThrow()
  })

  it('runs a conference server alone (no proxy section); a second signal exits at once', async () => {
    const run = await start({ apps: APPS, sfu: SFU })
    expect(run.started.components).toEqual(['sfu'])
    expect(run.started).not.toHaveProperty('region')

    const health = JSON.parse((await get(`${run.admin}/healthz`)).text) as { details: object }
    expect(Object.keys(health.details)).toEqual(['sfu'])
    const metrics = (await get(`${run.admin}/metrics`)).text
    expect(metrics).toContain('pinhole_sfu_channels 0')
    expect(metrics).toContain('process_cpu_user_seconds_total')
    expect(metrics).not.toContain('pinhole_proxy_')

    run.signals.emit('SIGTERM', 'SIGTERM')
    run.signals.emit('SIGINT', 'SIGINT')

    expect(run.exit).toHaveBeenCalledWith(1)
    expect(await run.exitCode).toBe(0)
  })

  it('exits 1 and closes what it started when a later component cannot bind', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const { port } = taken.address() as { port: number }
    const fake = fakeIo()
    try {
      const code = await main(
        [
          'start',
          '--config',
          configFile({ apps: APPS, proxy: { ...PROXY, ports: { udp: [0], tcp: port } }, sfu: SFU }),
        ],
        fake.io,
      )

      expect(code).toBe(1)
      expect(fake.log.find((l) => l.level === 'fatal')?.msg).toBe('proxy failed to start')
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })
})

describe('pinhole-server check-config and whitelist', () => {
  it.each<[string, ServerConfigInput, string]>([
    [
      'both',
      { apps: APPS, proxy: PROXY, sfu: { enabled: true, port: 7880 } },
      'proxy 127.0.0.1 (region test): udp 0, tcp 0; sfu 127.0.0.1:7880 (announced 127.0.0.1); admin 127.0.0.1:0',
    ],
    ['the sfu alone', { apps: APPS, sfu: SFU }, 'sfu 127.0.0.1:0 (announced 127.0.0.1); admin 127.0.0.1:0'],
    [
      'a disabled proxy beside the sfu',
      { apps: APPS, proxy: { ...PROXY, enabled: false }, sfu: SFU },
      ': proxy disabled; sfu 127.0.0.1:0',
    ],
  ])('summarises %s', async (_name, config, expected) => {
    const fake = fakeIo()

    expect(await main(['check-config', '--config', configFile(config)], fake.io)).toBe(0)
    expect(fake.out.join('')).toContain(expected)
  })

  it('warns when the proxy and the conference server of one config cannot reach each other', async () => {
    const fake = fakeIo()
    const proxy = { ...PROXY, peers: { allow: ['10.0.0.0/8'] } }
    const file = configFile({ apps: APPS, proxy, sfu: { enabled: true, port: 7880 } })

    expect(await main(['check-config', '--config', file], fake.io)).toBe(0)
    expect(fake.err.join('')).toBe(
      'WARNING: proxy.peers refuses sfu.announcedAddress 127.0.0.1 (loopback): the relay cannot carry media ' +
        'to this conference server\n' +
        'WARNING: proxy.signal.upstream ws://127.0.0.1:9/v1/signal is not this conference server ' +
        '(sfu.port 7880): signaling goes elsewhere\n',
    )
  })

  it('refuses a config that runs nothing: exit 1 (check-config), 2 (start)', async () => {
    const file = configFile({ apps: APPS, proxy: { ...PROXY, enabled: false } })
    const check = fakeIo()
    const start = fakeIo()

    expect(await main(['check-config', '--config', file], check.io)).toBe(1)
    expect(await main(['start', '--config', file], start.io)).toBe(2)
    expect(check.err.join('')).toContain(`invalid configuration in ${file}: nothing to run:`)
  })

  it('whitelist says no proxy is configured for a conference server alone', async () => {
    const fake = fakeIo()

    expect(await main(['whitelist', '--config', configFile({ apps: APPS, sfu: SFU })], fake.io)).toBe(0)
    expect(fake.out.join('')).toMatch(/^WARNING: no proxy configured/)
    expect(fake.out.join('')).toContain('Into this conference server, from the proxies only')
  })
})

describe('pinhole-server check-config refuses listeners that would share a port (issue 10 item 7)', () => {
  const proxyOn = (host: string, ports: { udp: number[]; tcp: number }, relay: [number, number]) => ({
    ...PROXY,
    listenHost: host,
    ports,
    relay: { listenHost: host, portRange: relay },
  })
  const RELAY: [number, number] = [50000, 50999]

  it.each<[string, ServerConfigInput, string]>([
    [
      'sfu.port equal to proxy.ports.tcp',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [3478], tcp: 8443 }, RELAY),
        sfu: { enabled: true, port: 8443 },
      },
      'sfu.port: TCP port 8443 on 127.0.0.1 is also proxy.ports.tcp (on 127.0.0.1)',
    ],
    [
      'sfu.port equal to admin.port',
      { apps: APPS, sfu: { enabled: true, port: 9464 }, admin: { port: 9464 } },
      'admin.port: TCP port 9464 on 127.0.0.1 is also sfu.port (on 127.0.0.1)',
    ],
    [
      'admin.port under a proxy listening on every address',
      { apps: APPS, proxy: proxyOn('0.0.0.0', { udp: [3478], tcp: 9464 }, RELAY), admin: { port: 9464 } },
      'admin.port: TCP port 9464 on 127.0.0.1 is also proxy.ports.tcp (on 0.0.0.0)',
    ],
  ])('%s: exit 1 with both fields named', async (_name, config, expected) => {
    const fake = fakeIo()
    const file = configFile(config)

    expect(await main(['check-config', '--config', file], fake.io)).toBe(1)
    expect(fake.err.join('')).toContain(`invalid configuration in ${file}: `)
    expect(fake.err.join('')).toContain(expected)
  })

  it.each<[string, ServerConfigInput, string]>([
    [
      'a TURN port inside the relay range',
      { apps: APPS, proxy: proxyOn('127.0.0.1', { udp: [3478, 50500], tcp: 8443 }, RELAY) },
      'proxy.relay.portRange: UDP port 50500 on 127.0.0.1 is also proxy.ports.udp[1] (on 127.0.0.1)',
    ],
    [
      'media ports overlapping the relay range',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [3478], tcp: 8443 }, RELAY),
        sfu: { enabled: true, port: 7880, rtcPortRange: [50900, 51900] },
      },
      'sfu.rtcPortRange: UDP ports 50900-50999 on 127.0.0.1 is also proxy.relay.portRange (on 127.0.0.1)',
    ],
  ])('warns about %s: the range still works, smaller', async (_name, config, expected) => {
    const fake = fakeIo()

    expect(await main(['check-config', '--config', configFile(config)], fake.io)).toBe(0)
    expect(fake.err.join('')).toContain(`WARNING: ${expected}: those ports are not all free for it`)
  })

  it('start refuses the clash as a configuration error (exit 2) instead of failing to bind', async () => {
    const fake = fakeIo()
    const config = {
      apps: APPS,
      proxy: proxyOn('127.0.0.1', { udp: [0], tcp: 8443 }, RELAY),
      sfu: { enabled: true, port: 8443 },
    }

    expect(await main(['start', '--config', configFile(config)], fake.io)).toBe(2)
    expect(fake.err.join('')).toContain('sfu.port: TCP port 8443')
  })

  it.each<[string, ServerConfigInput]>([
    [
      'the same number on TCP and UDP',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [7880], tcp: 8443 }, RELAY),
        sfu: { enabled: true, port: 7880 },
      },
    ],
    [
      'the same port on two loopback addresses',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [3478], tcp: 7880 }, RELAY),
        sfu: { enabled: true, listenHost: '127.0.0.2', port: 7880 },
      },
    ],
    [
      'a disabled conference server',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [3478], tcp: 7880 }, RELAY),
        sfu: { enabled: false, port: 7880 },
      },
    ],
    [
      'any free port twice',
      {
        apps: APPS,
        proxy: proxyOn('127.0.0.1', { udp: [0], tcp: 0 }, RELAY),
        sfu: { enabled: true, port: 0 },
      },
    ],
  ])('accepts %s', async (_name, config) => {
    const fake = fakeIo()

    expect(await main(['check-config', '--config', configFile(config)], fake.io)).toBe(0)
  })
})
