import { execFile } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_APP } from '../../e2e/support/proxyConfig'
import type { ConnectCall } from '../engine'
import { startConnectProxy } from '../../e2e/support/connectProxy'
import {
  closedTcpPort,
  closedUdpPort,
  silentTcp,
  silentUdp,
  startProxyFixture,
  type ProxyFixture,
} from '../../e2e/support/proxyFixture'
import { EngineError, ErrorCode } from '../shared/errors'
import type { EventLine } from './eventLines'
import { ENGINE_EVENT_NAMES } from './eventLines'
import { ExitCode, processIo, type CliIo } from './io'
import { main, type MainOptions } from './main'
import { encodeTestVideo } from '../../e2e/sfu/vp8'
import { requireTool } from '../../e2e/support/tools'

/** The CLI against a real ProxyServer on loopback: doctor with a port closed, join up to proxyConnected. */

const REPO = resolve(import.meta.dirname, '../..')
const execFileAsync = promisify(execFile)

interface Run {
  code: number
  stdout: string
  stderr: string
  lines: EventLine[]
}

/** An in-memory CliIo; `onLine` sees each stdout line as it is written (to send SIGINT at a chosen event). */
function testIo(onLine?: (line: EventLine, signals: EventEmitter) => void): {
  io: CliIo
  out: () => Pick<Run, 'stdout' | 'stderr'>
} {
  let stdout = ''
  let stderr = ''
  const signals = new EventEmitter()
  const io: CliIo = {
    ...processIo(),
    stdout: (text) => {
      stdout += text
      for (const line of text.split('\n').filter(Boolean)) {
        if (line.startsWith('{')) onLine?.(JSON.parse(line) as EventLine, signals)
      }
    },
    stderr: (text) => void (stderr += text),
    signals,
    exit: (code) => {
      throw new Error(`exit(${code}) called`)
    },
  }
  return { io, out: () => ({ stdout, stderr }) }
}

async function run(
  argv: string[],
  onLine?: (line: EventLine, signals: EventEmitter) => void,
  options?: MainOptions,
): Promise<Run> {
  const { io, out } = testIo(onLine)
  const code = await main(argv, io, options)
  const { stdout, stderr } = out()
  const lines = stdout
    .split('\n')
    .filter((l) => l.startsWith('{"event"'))
    .map((l) => JSON.parse(l) as EventLine)
  return { code, stdout, stderr, lines }
}

let fixture: ProxyFixture
let dir: string
beforeAll(async () => {
  fixture = await startProxyFixture('loop')
  dir = mkdtempSync(join(tmpdir(), 'pinhole-cli-'))
})
afterAll(async () => {
  await fixture.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Flags for the fixture's region, with its UDP ports replaced when given. */
function regionFlags(udp = fixture.region.ports.udp): string[] {
  const { proxyHost, ports, tlsFingerprintSha256 } = fixture.region
  return [
    '--proxy',
    proxyHost,
    '--udp-ports',
    udp.join(','),
    '--tcp-port',
    String(ports.tcp),
    '--fingerprint',
    tlsFingerprintSha256!,
  ]
}

describe('pinhole doctor against a loopback proxy', () => {
  it('reports all four checks reachable from a regions file and exits 0', async () => {
    const file = join(dir, 'regions.json')
    writeFileSync(file, JSON.stringify([fixture.region]))
    const r = await run(['doctor', '--regions', file, '--region', 'loop'])
    expect(r.code, r.stderr).toBe(ExitCode.Ok)
    expect(r.stdout).toContain('Region loop (Loopback loop), proxy 127.0.0.1')
    const [udp, udpAlt] = fixture.region.ports.udp
    for (const check of [`UDP ${udp}`, `UDP ${udpAlt}`, `TLS ${fixture.region.ports.tcp}`, 'Session API'])
      expect(r.stdout).toMatch(new RegExp(`^${check} +127\\.0\\.0\\.1:\\d+ +reachable +\\d+\\.\\d ms`, 'm'))
    expect(r.stdout).toContain('Every whitelisted endpoint answers.')
  })

  it('names the silent UDP port blocked, the rule to add, and exits 3', async () => {
    const silent = await silentUdp()
    try {
      const probe = { udpTimeoutMs: 400, udpRetransmitMs: 50 }
      const flags = regionFlags([fixture.region.ports.udp[0], silent.port])
      const r = await run(['doctor', ...flags], undefined, { doctor: { probe } })
      expect(r.code, r.stdout).toBe(ExitCode.Blocked)
      const port = silent.port
      expect(r.stdout).toMatch(new RegExp(`^UDP ${port} +127\\.0\\.0\\.1:${port} +blocked +- `, 'm'))
      expect(r.stdout).toMatch(new RegExp(`^UDP ${fixture.region.ports.udp[0]} .* reachable`, 'm'))
      expect(r.stdout).toContain(
        `Firewall rules to add:\n  allow UDP from desktops to 127.0.0.1 port ${port}`,
      )
    } finally {
      await silent.close()
    }
  })

  it('--json gives machines the rows, the rules and ok; a closed port is refused, without a rule', async () => {
    const closed = await closedUdpPort()
    const r = await run(['doctor', ...regionFlags([closed, fixture.region.ports.udp[1]]), '--json'])
    expect(r.code).toBe(ExitCode.Blocked)
    const report = JSON.parse(r.stdout) as {
      ok: boolean
      regions: { id: string; ok: boolean; rows: { check: string; status: string; rule?: string }[] }[]
    }
    expect(report.ok).toBe(false)
    expect(report.regions).toHaveLength(1)
    expect(report.regions[0]!.rows.map((row) => [row.check, row.status, row.rule])).toEqual([
      [`UDP ${closed}`, 'refused', undefined],
      [`UDP ${fixture.region.ports.udp[1]}`, 'reachable', undefined],
      [`TLS ${fixture.region.ports.tcp}`, 'reachable', undefined],
      ['Session API', 'reachable', undefined],
    ])
  })

  it.each([
    [
      'refuses CONNECT',
      async () => {
        const refusing = await startConnectProxy({ refuse: () => 403 })
        return { port: refusing.port, close: () => refusing.close() }
      },
      (proxy: string) =>
        `allow HTTP CONNECT through the corporate proxy ${proxy} to 127.0.0.1 port ${fixture.region.ports.tcp}`,
    ],
    [
      'does not answer',
      async () => ({ port: await closedTcpPort(), close: async () => {} }),
      (proxy: string) =>
        `allow TCP from desktops to 127.0.0.1 port ${proxy.split(':')[1]} (the corporate HTTP proxy)`,
    ],
  ])(
    '--http-proxy: a corporate proxy that %s gets the app’s rule, UDP goes direct',
    async (_, start, rule) => {
      const proxy = await start()
      try {
        const address = `127.0.0.1:${proxy.port}`
        const r = await run(['doctor', ...regionFlags(), '--http-proxy', `http://${address}`])
        expect(r.code, r.stdout).toBe(ExitCode.Blocked)
        expect(r.stdout).toMatch(new RegExp(`^UDP ${fixture.region.ports.udp[0]} .* reachable`, 'm'))
        expect(r.stdout).toMatch(
          new RegExp(
            `^TLS ${fixture.region.ports.tcp} via HTTP proxy ${address.replaceAll('.', '\\.')} `,
            'm',
          ),
        )
        expect(r.stdout).toContain(`Firewall rules to add:\n  ${rule(address)}`)
      } finally {
        await proxy.close()
      }
    },
  )

  it('exits 2 on a usage error, saying what is wrong', async () => {
    const r = await run(['doctor', '--proxy', '127.0.0.1', '--udp-ports', '1'])
    expect(r.code).toBe(ExitCode.Usage)
    expect(r.stderr).toMatch(/^pinhole: --udp-ports takes two ports.*\nTry 'pinhole doctor --help'/)
    expect((await run(['frobnicate'])).code).toBe(ExitCode.Usage)
    expect((await run([])).code).toBe(ExitCode.Usage)
  })

  it('runs through the bin shim as its own process, with the exit code', async () => {
    const closed = await closedUdpPort()
    const argv = [
      join(REPO, 'bin/pinhole.js'),
      'doctor',
      ...regionFlags([closed, fixture.region.ports.udp[1]]),
    ]
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = execFile(process.execPath, argv, { cwd: REPO }, (_err, out) =>
        done({ code: child.exitCode, stdout: out }),
      )
    })
    expect(code, stdout).toBe(ExitCode.Blocked)
    expect(stdout).toMatch(new RegExp(`^UDP ${closed} +127\\.0\\.0\\.1:${closed} +refused `, 'm'))
    expect(stdout).toContain(`127.0.0.1 refused UDP ${closed}: nothing listens there`)
    expect(stdout).not.toContain('Firewall rules to add')
  })
})

describe('pinhole join', () => {
  it('uid 0 with a proxy: prints the 414 error, exits 1 and sends nothing', async () => {
    const [udpA, udpB, tcp] = await Promise.all([silentUdp(), silentUdp(), silentTcp()])
    try {
      const flags = [
        '--proxy',
        '127.0.0.1',
        '--udp-ports',
        `${udpA.port},${udpB.port}`,
        '--tcp-port',
        String(tcp.port),
      ]
      for (const mode of ['udp', 'tcp', 'auto']) {
        const r = await run([
          'join',
          ...flags,
          '--proxy-mode',
          mode,
          '--channel',
          'c',
          '--uid',
          '0',
          '--token',
          't',
        ])
        expect(r.code).toBe(ExitCode.Failed)
        expect(r.lines).toHaveLength(1)
        expect(r.lines[0]).toMatchObject({ event: 'error', args: [{ code: 414 }], from: 'joinChannel' })
      }
      // Also with a token minted from the app secret: minting is local.
      const minted = ['--app-key', TEST_APP.appKey, '--app-secret', TEST_APP.secret]
      const r = await run([
        'join',
        ...flags,
        '--proxy-mode',
        'udp',
        '--channel',
        'c',
        '--uid',
        '0',
        ...minted,
      ])
      expect(r.lines.map((l) => l.event)).toEqual(['error'])
      await new Promise((done) => setTimeout(done, 100))
      expect([udpA.count(), udpB.count(), tcp.count()]).toEqual([0, 0, 0])
    } finally {
      await Promise.all([udpA.close(), udpB.close(), tcp.close()])
    }
  })

  it.each([
    ['udp', 'udp'],
    ['tcp', 'tls'],
  ])(
    '--proxy-mode %s through the loopback proxy reaches proxyConnected (%s); SIGINT leaves',
    async (mode, transport) => {
      const argv = ['join', ...regionFlags(), '--proxy-mode', mode, '--channel', 'room-1', '--uid', '42']
      const minted = ['--app-key', TEST_APP.appKey, '--app-secret', TEST_APP.secret]
      // Stop at proxyConnected: what the engine does after it (the call) is being built; it is printed either way.
      const r = await run([...argv, ...minted], (line, signals) => {
        if (line.event === 'proxyConnected') signals.emit('SIGINT')
      })
      const events = r.lines.map((l) => l.event)
      for (const event of events) expect(ENGINE_EVENT_NAMES).toContain(event)
      expect(r.lines.slice(0, 3)).toMatchObject([
        { event: 'connectionStateChanged', args: [2, 5], names: ['Connecting', 'joinChannel'] },
        { event: 'connectionStateChanged', args: [2, 13], names: ['Connecting', 'settingProxyServer'] },
        { event: 'proxyConnected', args: [{ type: mode === 'udp' ? 1 : 2, regionId: 'cli', transport }] },
      ])
      const port = transport === 'udp' ? fixture.region.ports.udp[0] : fixture.region.ports.tcp
      const info = r.lines[2]!.args[0] as { proxyAddress: string; elapsedMs: number }
      // Either UDP port may win the race.
      if (transport === 'udp') expect(info.proxyAddress).toMatch(/^127\.0\.0\.1:\d+$/)
      else expect(info.proxyAddress).toBe(`127.0.0.1:${port}`)
      expect(info.elapsedMs).toBeGreaterThan(0)
      for (let i = 1; i < r.lines.length; i++) expect(r.lines[i]!.t).toBeGreaterThanOrEqual(r.lines[i - 1]!.t)
      // Interrupted before joining: not a success. The leave runs at once (the signal arrives while
      // proxyConnected is printed), the join resolves JoinCanceled, which the CLI prints: the engine emits
      // nothing for a join that a leave canceled.
      expect(r.code).toBe(ExitCode.Failed)
      expect(r.lines.slice(3)).toMatchObject([
        { event: 'connectionStateChanged', args: [1, 1], names: ['Disconnected', 'leaveChannel'] },
        { event: 'error', args: [{ code: ErrorCode.JoinCanceled }], from: 'joinChannel' },
        { event: 'leaveChannel', args: [0] },
      ])
    },
  )

  it('--display-name goes into the join (NFC); a name the schema refuses is the 414 line, nothing sent', async () => {
    const names: (string | undefined)[] = []
    const connectCall: ConnectCall = async (ctx) => (names.push(ctx.displayName), { close: async () => {} })
    const argv = ['join', ...regionFlags(), '--proxy-mode', 'tcp', '--channel', 'room-1', '--uid', '42']
    const token = await fixture.token()
    const options = { join: { engineOptions: { connectCall } } }
    const named = await run(
      [...argv, '--token', token, '--duration', '0.1', '--display-name', 'Rene\u0301 张'],
      undefined,
      options,
    )
    expect(named.code, named.stdout).toBe(ExitCode.Ok)
    const refused = await run([...argv, '--token', token, '--display-name', '  '], undefined, options)
    expect(refused.code).toBe(ExitCode.Failed)
    expect(refused.lines).toEqual([
      expect.objectContaining({
        event: 'error',
        args: [expect.objectContaining({ code: 414 })],
        from: 'joinChannel',
      }),
    ])
    expect(names).toEqual(['René 张'])
  })

  it('with a call that joins: Connected, frames as {bytes, sha256}, leaves after --duration, exits 0', async () => {
    const connectCall: ConnectCall = async (ctx) => {
      setTimeout(() => {
        ctx.emit('userJoined', 7)
        ctx.emit('remoteVideoFrame', {
          uid: 7,
          data: new Uint8Array([1, 2, 3]),
          timestampUs: 1000,
          keyFrame: true,
        })
      }, 20)
      return { close: async () => {} }
    }
    const argv = ['join', ...regionFlags(), '--proxy-mode', 'tcp', '--channel', 'room-1', '--uid', '42']
    const token = await fixture.token()
    const r = await run([...argv, '--token', token, '--duration', '0.3'], undefined, {
      join: { engineOptions: { connectCall } },
    })
    expect(r.code, r.stdout).toBe(ExitCode.Ok)
    const events = r.lines.map((l) => l.event)
    expect(events).toEqual([
      'connectionStateChanged',
      'connectionStateChanged',
      'proxyConnected',
      'connectionStateChanged',
      'joinChannel',
      'userJoined',
      'remoteVideoFrame',
      'connectionStateChanged',
      'leaveChannel',
      'summary',
    ])
    expect(r.lines[3]).toMatchObject({ args: [3, 6], names: ['Connected', 'joinSucceed'] })
    expect(r.lines[4]).toMatchObject({ args: [0, 'room-1', 42, expect.any(Number)] })
    expect(r.lines[6]!.args[0]).toEqual({
      uid: 7,
      data: { bytes: 3, sha256: '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81' },
      timestampUs: 1000,
      keyFrame: true,
    })
    expect(r.lines[7]).toMatchObject({ args: [1, 1] })
    expect(r.lines[8]!.t - r.lines[4]!.t).toBeGreaterThanOrEqual(290)
    // The last line: what arrived, per uid.
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({
      event: 'summary',
      received: {
        '7': { video: { frames: 1, keyframes: 1, bytes: 3 }, audio: { frames: 0, keyframes: 0, bytes: 0 } },
      },
    })
  })

  it('--send-video/--send-audio: once Connected, the files are pushed at their timestamps; a keyframe on request', async () => {
    await encodeTestVideo(dir, 'send', 1, 10)
    await execFileAsync(requireTool('ffmpeg'), [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'],
      ...['-c:a', 'libopus', '-y', join(dir, 'send.ogg')],
    ])
    const video: { timestamp: number; keyframe: boolean }[] = []
    const audio: number[] = []
    const connectCall: ConnectCall = async (ctx) => {
      // A keyframe request after the first (key)frame and two deltas: the next one sent is a keyframe.
      setTimeout(() => ctx.emit('keyFrameRequested'), 80)
      return {
        close: async () => {},
        pushVideoFrame: (frame) => video.push({ timestamp: frame.timestamp, keyframe: frame.keyframe }) > 0,
        pushAudioFrame: (frame) => audio.push(frame.timestamp) > 0,
      }
    }
    const argv = ['join', ...regionFlags(), '--proxy-mode', 'tcp', '--channel', 'room-1', '--uid', '42']
    const files = ['--send-video', join(dir, 'send.ivf'), '--send-audio', join(dir, 'send.ogg')]
    const r = await run(
      [...argv, '--token', await fixture.token(), ...files, '--duration', '0.5'],
      undefined,
      {
        join: { engineOptions: { connectCall } },
      },
    )
    expect(r.code, r.stdout).toBe(ExitCode.Ok)
    // 0.5 s at 30 fps and 50 packets/s, give or take the timers of a loaded machine.
    expect(video.length).toBeGreaterThanOrEqual(10)
    expect(video.length).toBeLessThanOrEqual(17)
    expect(audio.length).toBeGreaterThanOrEqual(18)
    expect(audio.length).toBeLessThanOrEqual(27)
    expect(video[0]).toEqual({ timestamp: 0, keyframe: true })
    expect(video[1]!.timestamp).toBe(33_333)
    expect(audio.slice(0, 3)).toEqual([0, 20_000, 40_000])
    // The request jumped to frame 10 of the file, a keyframe, well before its place in the GOP.
    const requested = video.findIndex((f, i) => i > 0 && f.keyframe)
    expect(requested).toBeGreaterThan(0)
    expect(requested).toBeLessThan(6)
  })

  it('--send-video with a file that is not IVF is a usage error (exit 2)', async () => {
    writeFileSync(join(dir, 'not.ivf'), 'hello')
    const argv = ['join', ...regionFlags(), '--channel', 'room-1', '--uid', '42', '--token', 't']
    const r = await run([...argv, '--send-video', join(dir, 'not.ivf')])
    expect(r.code).toBe(ExitCode.Usage)
    expect(r.stderr).toMatch(/--send-video .*not\.ivf: not an IVF file/)
  })

  it('a call that fails after joining: Failed is printed and the exit code is 1', async () => {
    const connectCall: ConnectCall = async (ctx) => {
      setTimeout(() => {
        ctx.report({ type: 'signalLost' })
        ctx.report({ type: 'failed', error: new EngineError(ErrorCode.ReconnectTimeout) })
      }, 20)
      return { close: async () => {} }
    }
    const argv = ['join', ...regionFlags(), '--proxy-mode', 'udp', '--channel', 'room-1', '--uid', '42']
    const r = await run([...argv, '--token', await fixture.token()], undefined, {
      join: { engineOptions: { connectCall } },
    })
    expect(r.code).toBe(ExitCode.Failed)
    // Reconnecting, then Failed with the call's error; release then leaves (Failed → Disconnected).
    expect(r.lines.at(-1)).toEqual({ event: 'summary', received: {} })
    expect(r.lines.slice(-7, -1)).toMatchObject([
      { event: 'connectionStateChanged', args: [4, 9], names: ['Reconnecting', 'signalDisconnected'] },
      { event: 'warning', args: [{ code: ErrorCode.SignalingLost }] },
      { event: 'connectionStateChanged', args: [5, 4], names: ['Failed', 'timeout'] },
      { event: 'error', args: [{ code: ErrorCode.ReconnectTimeout }] },
      { event: 'connectionStateChanged', args: [1, 1] },
      { event: 'leaveChannel', args: [0] },
    ])
  })
})
