/**
 * Issue 12 acceptance 2: per-subscriber temporal-layer forwarding through the conference server. One
 * publisher engine sends Chromium's live L1T3 VP8 (WebCodecs `scalabilityMode: 'L1T3'`, the layer id of
 * each chunk pushed with it); two subscriber engines sit beside the server, a third behind a link shaped to
 * 300 kbit/s (tbf both ways on a veth pair between two namespaces this test creates). Checked: the clean
 * subscribers get the full layer at ≥ 25 fps; the shaped one a lower layer, with no gap of 1 s between
 * frames once it settled; the publisher's encoder output and send target are not pulled down by the slow
 * subscriber; and every subscriber's frames decode in Chromium's VideoDecoder.
 *
 * The agents (e2e/media/agents/layer*.mts) run inside the namespaces and talk JSON lines. Needs root
 * (namespaces, tc); skips saying so otherwise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO, labSupport } from '../lab/lab'
import { launchChromium, serveTestPage } from '../support/chromium'
import { killOnExit, stopChild } from '../support/process'
import { decodeVp8 } from './l1t3Page'
import type { SubscriberResult } from './layerCall'

const support = labSupport()
if (!support.ok) console.log(support.reason)

const HUB = `pinhole-tl-${process.pid}-hub`
const SLOW = `pinhole-tl-${process.pid}-slow`
const HUB_ADDRESS = '10.231.0.1'
const SLOW_ADDRESS = '10.231.0.2'
const LINK = ['rate', '300kbit', 'burst', '4kb', 'latency', '300ms']
/** The publisher's encoder bitrate: L1T3 at 400 kbit/s puts about 220 kbit/s in the base layer. */
const BITRATE = 400_000
const BASELINE_MS = 6000
const SLOW_MS = 18_000
/** From the slow subscriber's join: time to move down and recover (first lossy second, a key frame). */
const SETTLE_MS = 9000

interface Sent {
  at: number
  bytes: number
  layer: number
  key: boolean
}
interface HubResult {
  subscribers: SubscriberResult[]
  sent: Sent[]
  targets: { at: number; bps: number }[]
  errors: string[]
  pushRefused: number
  ticks: { at: number; metrics: Record<string, number> }[]
  metrics: Record<string, number>
}

interface Agent {
  child: ChildProcess
  lines: Record<string, unknown>[]
  waitFor(event: string, timeoutMs: number): Promise<Record<string, unknown>>
  stderr(): string
}

/** `ip` and `tc` live in sbin, which a non-login root shell may lack on PATH. */
function sbin(name: 'ip' | 'tc'): string {
  return ['/usr/sbin', '/sbin'].map((dir) => join(dir, name)).find((path) => existsSync(path)) ?? name
}

function ip(...args: string[]): void {
  execFileSync(sbin('ip'), args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function tc(ns: string, dev: string): void {
  execFileSync(sbin('tc'), ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', ...LINK])
}

function deleteNamespaces(): void {
  for (const ns of [HUB, SLOW]) {
    try {
      const pids = execFileSync(sbin('ip'), ['netns', 'pids', ns], { encoding: 'utf8' })
      for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) process.kill(Number(pid), 'SIGKILL')
      ip('netns', 'del', ns)
    } catch {
      // Not there (never made, or already gone).
    }
  }
}

/** Two namespaces, a veth pair between them, 300 kbit/s each way. Nothing touches the host's network. */
function makeLink(): void {
  ip('netns', 'add', HUB)
  ip('netns', 'add', SLOW)
  for (const ns of [HUB, SLOW]) ip('-n', ns, 'link', 'set', 'lo', 'up')
  ip('-n', HUB, 'link', 'add', 'tl0', 'type', 'veth', 'peer', 'name', 'tl1', 'netns', SLOW)
  ip('-n', HUB, 'addr', 'add', `${HUB_ADDRESS}/24`, 'dev', 'tl0')
  ip('-n', SLOW, 'addr', 'add', `${SLOW_ADDRESS}/24`, 'dev', 'tl1')
  ip('-n', HUB, 'link', 'set', 'tl0', 'up')
  ip('-n', SLOW, 'link', 'set', 'tl1', 'up')
  tc(HUB, 'tl0')
  tc(SLOW, 'tl1')
}

function startAgent(ns: string, script: string, args: string[]): Agent {
  const child = spawn(
    sbin('ip'),
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      join(REPO, 'e2e/media/agents', script),
      ...args,
    ],
    { cwd: REPO, detached: true, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  killOnExit(child)
  const lines: Record<string, unknown>[] = []
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  const waiters: (() => void)[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    lines.push(JSON.parse(line) as Record<string, unknown>)
    waiters.forEach((w) => w())
  })
  const waitFor = (event: string, timeoutMs: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((l) => l['event'] === event)
        if (found) {
          clearTimeout(timer)
          resolve(found)
        }
      }
      const timer = setTimeout(() => reject(new Error(`${script}: no ${event}: ${stderr}`)), timeoutMs)
      waiters.push(check)
      check()
      child.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${stderr}`)))
    })
  return { child, lines, waitFor, stderr: () => stderr }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** bit/s of `sent` chunks within [from, to), of one layer or all. */
function rate(sent: Sent[], from: number, to: number, layer?: number): number {
  const bytes = sent
    .filter((s) => s.at >= from && s.at < to && (layer === undefined || s.layer === layer))
    .reduce((sum, s) => sum + s.bytes, 0)
  return (bytes * 8000) / (to - from)
}

/** Frames in [from, to), and the longest time without one (the window's edges count as frames). */
function window(result: SubscriberResult, from: number, to: number) {
  const times = [from, ...result.frames.filter((f) => f.at >= from && f.at < to).map((f) => f.at), to]
  let maxGapMs = 0
  for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, times[i]! - times[i - 1]!)
  const frames = times.length - 2
  const bytes = result.frames.filter((f) => f.at >= from && f.at < to).reduce((sum, f) => sum + f.bytes, 0)
  return { frames, fps: (frames * 1000) / (to - from), maxGapMs, kbps: (bytes * 8) / (to - from) }
}

describe.skipIf(!support.ok)('temporal layers per subscriber through a shaped link', () => {
  let dir = ''
  let hub: HubResult
  let slow: SubscriberResult
  let slowJoinedAt = 0
  let stopAt = 0
  const agents: Agent[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pinhole-layers-'))
    deleteNamespaces()
    makeLink()
    const hubAgent = startAgent(HUB, 'layerHub.mts', [HUB_ADDRESS, dir, String(BITRATE)])
    agents.push(hubAgent)
    await hubAgent.waitFor('ready', 30_000)
    await sleep(BASELINE_MS)
    const slowAgent = startAgent(SLOW, 'layerSubscriber.mts', [HUB_ADDRESS, dir, '4'])
    agents.push(slowAgent)
    slowJoinedAt = Number((await slowAgent.waitFor('joined', 20_000))['at'])
    await sleep(SLOW_MS)
    stopAt = Date.now()
    if (process.env['LAYER_DEBUG']) {
      console.log(
        execFileSync(sbin('tc'), ['-n', HUB, '-s', 'qdisc', 'show', 'dev', 'tl0'], { encoding: 'utf8' }),
      )
    }
    for (const agent of agents) agent.child.stdin?.write('stop\n')
    slow = (await slowAgent.waitFor('result', 10_000))['subscriber'] as SubscriberResult
    hub = (await hubAgent.waitFor('result', 10_000)) as unknown as HubResult
  }, 75_000)

  afterAll(async () => {
    await Promise.all(agents.map((agent) => stopChild(agent.child, 2000)))
    deleteNamespaces()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('clean subscribers keep the full layer, the shaped one gets a lower one without freezing, the publisher is not pulled down', async () => {
    const settled = slowJoinedAt + SETTLE_MS
    const clean = hub.subscribers.map((s) => ({ uid: s.uid, ...window(s, settled, stopAt) }))
    const shaped = window(slow, settled, stopAt)
    const before = rate(hub.sent, slowJoinedAt - BASELINE_MS, slowJoinedAt)
    const during = rate(hub.sent, settled, stopAt)
    const layers = [0, 1, 2].map((l) => Math.round(rate(hub.sent, settled, stopAt, l) / 1000))
    const last = hub.ticks.at(-1)?.metrics ?? {}
    const targets = hub.targets.map((t) => [t.at - slowJoinedAt, Math.round(t.bps / 1000)])
    const kbps = { before: Math.round(before / 1000), during: Math.round(during / 1000), layers }
    const figures = { clean, shaped, kbps, targets, last }
    console.log(JSON.stringify(figures))
    if (process.env['LAYER_DEBUG']) {
      const perSecond = (at: number[]) => {
        const out: number[] = []
        for (const t of at)
          out[Math.floor((t - slowJoinedAt) / 1000) + 5] =
            (out[Math.floor((t - slowJoinedAt) / 1000) + 5] ?? 0) + 1
        return [...out].map((n) => n ?? 0)
      }
      console.log('slow fps/s', perSecond(slow.frames.map((f) => f.at)).join(' '))
      console.log('clean fps/s', perSecond(hub.subscribers[0]!.frames.map((f) => f.at)).join(' '))
      console.log(
        'keys',
        hub.sent
          .filter((s) => s.key)
          .map((s) => `${s.at - slowJoinedAt}:${s.bytes}`)
          .join(' '),
      )
      for (const t of hub.ticks) console.log(t.at - slowJoinedAt, JSON.stringify(t.metrics))
    }

    expect(hub.errors).toEqual([])
    expect(hub.pushRefused).toBe(0)
    // Every chunk carried its layer, and all three layers were used.
    expect(new Set(hub.sent.map((s) => s.layer))).toEqual(new Set([0, 1, 2]))
    for (const c of clean) expect(c.fps, JSON.stringify(figures)).toBeGreaterThanOrEqual(25)
    expect(shaped.frames, JSON.stringify(figures)).toBeGreaterThan(0)
    expect(shaped.fps, JSON.stringify(figures)).toBeLessThan(20) // 7.5 or 15 fps: a lower layer
    expect(shaped.maxGapMs, JSON.stringify(figures)).toBeLessThan(1000)
    // The server's own view at the end: two subscriptions at the top layer, one below it.
    expect(last['layered_subscriptions{2}'], JSON.stringify(figures)).toBe(2)
    expect((last['layered_subscriptions{0}'] ?? 0) + (last['layered_subscriptions{1}'] ?? 0)).toBe(1)
    // Not pulled down: what the publisher sends holds while the slow one watches. The server sends it
    // nothing about subscribers (no REMB: e2e/sfu/layers.test.ts); its encoder follows its own engine's
    // send target, which on this shared 2-core machine dips when the machine is busy, and the encoder's
    // output moves by ±15 % between windows of a few seconds: hence 0.8 (the targets are in the figures).
    expect(during, JSON.stringify(figures)).toBeGreaterThanOrEqual(0.8 * before)

    // Continuity: each subscriber's frames, as its engine assembled them, decode in Chromium.
    const site = await serveTestPage()
    const browser = await launchChromium()
    try {
      const page = await browser.newPage()
      await page.goto(site.url)
      for (const result of [...hub.subscribers, slow]) {
        const b64 = JSON.parse(readFileSync(result.dump, 'utf8')) as string[]
        const frames = b64.map((data, i) => ({ b64: data, key: result.frames[i]!.key }))
        const decoded = await decodeVp8(page, frames)
        expect(decoded, `uid ${result.uid}`).toEqual({ decoded: frames.length, errors: [] })
      }
    } finally {
      await browser.close()
      await site.close()
    }
  })
})
