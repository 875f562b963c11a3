import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventLine } from '../../src/cli/eventLines'
import { ExitCode } from '../../src/cli/io'
import { ErrorCode } from '../../src/shared/errors'
import type { ReceivedCounts } from '../../src/cli/media'
import { encodeTestVideo } from '../sfu/vp8'
import { exited, stopChild } from '../support/process'
import { requireTool } from '../support/tools'
import { REPO, createLab, delta, labSupport, type Lab } from './lab'
import { startLabConference, type LabConference } from './labConference'
import { LAB_APP, startLabProxy, type LabProxy } from './labProxy'
import { LAN_DROP_COUNTERS, WHITELIST } from './topology'

/**
 * A real call through the firewall: the conference server in `srv`, our proxy in `dmz` relaying signaling
 * and media to it, two `pinhole join` processes in `lan` (UDP proxy and TLS 443) sending ffmpeg-made VP8
 * and Opus files to each other. Nothing leaks past the router; a direct join is dropped there and fails.
 */

// Not root → skip, saying why (as lab.test.ts).
const support = labSupport()
if (!support.ok) console.log(support.reason)

const run = promisify(execFile)
/** Seconds each client stays in the channel after Connected, sending its files. */
const CALL_SECONDS = 4

interface Summary {
  event: 'summary'
  received: Record<string, { video: ReceivedCounts; audio: ReceivedCounts }>
}

interface JoinRun {
  code: number | null
  lines: EventLine[]
  summary: Summary | undefined
  stderr: string
  /** ms from spawning to the Connected line, and the engine's own join → Connected `t` difference. */
  connectedMs: number | undefined
  connectedAfterJoinMs: number | undefined
}

function pinholeJoin(lab: Lab, args: string[]): Promise<JoinRun> {
  const t0 = performance.now()
  const child = lab.spawn('lan', process.execPath, [join(REPO, 'bin/pinhole.js'), 'join', ...args])
  const lines: EventLine[] = []
  let summary: Summary | undefined
  let stderr = ''
  let connectedMs: number | undefined
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = JSON.parse(line) as EventLine | Summary
    if (parsed.event === 'summary') summary = parsed
    else {
      lines.push(parsed)
      if (parsed.names?.[0] === 'Connected' && connectedMs === undefined)
        connectedMs = Math.round(performance.now() - t0)
    }
  })
  const timer = setTimeout(() => void stopChild(child, 1000), 30_000)
  return exited(child).then(async () => {
    clearTimeout(timer)
    await new Promise((done) => setImmediate(done))
    const connecting = lines.find((l) => l.names?.[0] === 'Connecting')
    const connected = lines.find((l) => l.names?.[0] === 'Connected')
    const connectedAfterJoinMs = connecting && connected ? Math.round(connected.t - connecting.t) : undefined
    return { code: child.exitCode, lines, summary, stderr, connectedMs, connectedAfterJoinMs }
  })
}

const figures: Record<string, string | number>[] = []

describe.skipIf(!support.ok)(
  'a call through the firewall lab: pinhole join in lan, proxy in dmz, SFU in srv',
  () => {
    let lab: Lab | undefined
    let conference: LabConference | undefined
    let proxy: LabProxy | undefined
    let media: string | undefined
    let regionFlags: string[] = []
    const theLab = (): Lab => {
      if (!lab) throw new Error('lab not created')
      return lab
    }

    beforeAll(async () => {
      media = mkdtempSync(join(tmpdir(), 'pinhole-lab-media-'))
      const ffmpeg = requireTool('ffmpeg')
      // 3 s of VP8 (a keyframe every second) and of Opus; the clients loop them.
      const encoded = Promise.all([
        encodeTestVideo(media, 'video', 3, 30),
        run(ffmpeg, [
          ...['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3'],
          ...['-c:a', 'libopus', '-y', join(media, 'audio.ogg')],
        ]),
      ])
      lab = await createLab()
      conference = await startLabConference(lab)
      proxy = await startLabProxy(lab, { signalUpstream: conference.signalUrl })
      await encoded
      const pem = proxy.turn('tls-443', 'call').turnTlsCa
      if (pem === undefined) throw new Error('labProxy gave no certificate for tls-443')
      const fingerprint = new X509Certificate(pem).fingerprint256
      const ports = WHITELIST.filter((w) => w.proto === 'udp').map((w) => w.port)
      const tcp = WHITELIST.find((w) => w.proto === 'tcp')!.port
      regionFlags = ['--proxy', lab.addresses.dmz, '--region', 'lab', '--name', 'Lab DMZ']
      regionFlags.push(
        '--udp-ports',
        ports.join(','),
        '--tcp-port',
        String(tcp),
        '--fingerprint',
        fingerprint,
      )
    }, 60_000)
    afterAll(async () => {
      await proxy?.stop()
      await conference?.stop()
      await lab?.destroy()
      if (media) rmSync(media, { recursive: true, force: true })
      if (figures.length > 0) console.table(figures)
    })

    const joinArgs = (mode: string, uid: number, channel: string): string[] => [
      ...regionFlags,
      ...['--proxy-mode', mode, '--channel', channel, '--uid', String(uid)],
      ...['--app-key', LAB_APP.appKey, '--app-secret', LAB_APP.secret],
    ]

    it('a UDP-proxy client and a TLS-443 client exchange video and audio; no lan drop', async () => {
      const l = theLab()
      const files = ['--send-video', join(media!, 'video.ivf'), '--send-audio', join(media!, 'audio.ogg')]
      const duration = ['--duration', String(CALL_SECONDS)]
      const before = await l.counters()
      const [udp, tcp] = await Promise.all([
        pinholeJoin(l, [...joinArgs('udp', 11, 'lab-call'), ...files, ...duration]),
        pinholeJoin(l, [...joinArgs('tcp', 22, 'lab-call'), ...files, ...duration]),
      ])
      const d = delta(before, await l.counters())
      const runs = [
        { mode: 'udp', run: udp, other: '22' },
        { mode: 'tcp', run: tcp, other: '11' },
      ]
      for (const { mode, run: r, other } of runs) {
        const why = `${mode}: ${r.stderr}\n${r.lines.map((line) => JSON.stringify(line)).join('\n')}\n${proxy?.log().slice(-2000)}`
        expect(r.code, why).toBe(ExitCode.Ok)
        expect(r.connectedMs, why).toBeDefined()
        const got = r.summary?.received[other]
        expect(got, why).toBeDefined()
        expect(got!.video.frames, why).toBeGreaterThan(0)
        expect(got!.video.keyframes, why).toBeGreaterThanOrEqual(1)
        expect(got!.audio.frames, why).toBeGreaterThan(0)
        figures.push({
          run: `join ${mode}`,
          exit: r.code ?? '-',
          msToConnected: r.connectedMs ?? '-',
          joinToConnectedMs: r.connectedAfterJoinMs ?? '-',
          videoFrames: got!.video.frames,
          keyframes: got!.video.keyframes,
          audioFrames: got!.audio.frames,
        })
      }
      // UDP went over the whitelisted UDP ports, TLS over 443; nothing else left lan.
      expect(d['lan_tcp_443']).toBeGreaterThan(0)
      expect((d['lan_udp_3478'] ?? 0) + (d['lan_udp_7070'] ?? 0)).toBeGreaterThan(0)
      for (const name of LAN_DROP_COUNTERS) expect(d[name], name).toBe(0)
    }, 40_000)

    it('direct (proxy mode none) from lan to the conference server is dropped at the router and fails', async () => {
      const l = theLab()
      const before = await l.counters()
      const r = await pinholeJoin(l, [
        ...joinArgs('none', 33, 'lab-direct'),
        ...['--signal-url', conference!.signalUrl],
      ])
      const d = delta(before, await l.counters())
      const why = `${r.stderr}\n${r.lines.map((line) => JSON.stringify(line)).join('\n')}`
      expect(r.code, why).toBe(ExitCode.Failed)
      const states = r.lines
        .filter((line) => line.event === 'connectionStateChanged')
        .map((line) => line.names)
      expect(states[0], why).toEqual(['Connecting', 'joinChannel'])
      // The signaling handshake never completes (its SYNs die at the router): Failed (joinChannelFailed) with
      // the signaling error, then the release's Disconnected (leaveChannel).
      const failed = states.findIndex((names) => names?.[0] === 'Failed')
      expect(states[failed], why).toEqual(['Failed', 'joinChannelFailed'])
      expect(
        states.slice(0, failed).every((names) => names?.[0] === 'Connecting'),
        why,
      ).toBe(true)
      const error = r.lines.find((line) => line.event === 'error')?.args[0] as { code: number } | undefined
      expect(error?.code, why).toBe(ErrorCode.SignalingLost)
      expect(r.lines.find((line) => line.event === 'joinChannel')?.args[0], why).toBe(ErrorCode.SignalingLost)
      expect(d['lan_drop_tcp'], why).toBeGreaterThan(0)
      figures.push({
        run: 'join none (direct)',
        exit: r.code ?? '-',
        end: states[failed]?.join(' ') ?? '-',
        msToFailed: r.lines.find((line) => line.names?.[0] === 'Failed')?.t ?? '-',
        lanDropTcp: d['lan_drop_tcp']!,
      })
    }, 20_000)
  },
)
