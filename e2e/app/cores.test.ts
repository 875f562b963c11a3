/**
 * Issue 5, the host side with real components and no Electron: two app cores (two windows or two pages)
 * on one embedded local stack join one channel through the cloud proxy — UDP, then TCP (TLS) — and
 * exchange encoded frames through their media bridges, as a renderer would over its MessagePort. Plus
 * discovery: a second "instance" finds the first one's stack.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createAppCore,
  sharedLocalStack,
  type AppCore,
  type SharedLocalStack,
} from '../../src/app/core/appCore'
import { acquireLocalStack, stackAnswers } from '../../src/app/stack/discovery'
import { nodeMediaPort } from '../../src/app/mediaBridge'
import { startLocalStack } from '../../src/app/stack/localStack'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type ProxyConnectedInfo,
} from '../../src/shared/engine'
import type { AppSettings, IpcReply } from '../../src/shared/ipc'
import type { MediaDown } from '../../src/shared/mediaPort'
import { AUDIO_FRAME_US, VIDEO_FRAME_US, audioFrame, markerOf, videoFrame } from '../engine/frames'
import { until } from '../engine/harness'

const root = mkdtempSync(join(tmpdir(), 'pinhole-app-cores-'))
let stack: SharedLocalStack
beforeAll(() => {
  stack = sharedLocalStack(() => startLocalStack({ logLevel: 'silent' }))
})
afterAll(async () => {
  await stack.close()
  rmSync(root, { recursive: true, force: true })
})

function value<T>(reply: IpcReply<T>): T {
  if (!reply.ok) throw new Error(`${reply.error.code} ${reply.error.message} ${reply.error.detail ?? ''}`)
  return reply.value
}

/** A participant as a renderer sees it: a core, its page-side media port, what arrived. */
interface Participant {
  uid: number
  core: AppCore
  page: MessagePort
  states: [number, number][]
  proxies: ProxyConnectedInfo[]
  received: Extract<MediaDown, { kind: 'remoteVideo' | 'remoteAudio' }>[]
  sent: Map<string, Uint8Array>
  start(): void
  stop(): void
}

async function participant(name: string, uid: number): Promise<Participant> {
  let page: MessagePort | undefined
  const core = await createAppCore({
    dataDir: join(root, name),
    localStack: () => stack.get(),
    openMediaPort: () => {
      const channel = new MessageChannel()
      page = channel.port2
      return nodeMediaPort(channel.port1)
    },
  })
  expect(value(await core.invoke('connectMedia', []))).toBe(0)
  const timers: NodeJS.Timeout[] = []
  let wantKey = true
  const p: Participant = {
    uid,
    core,
    page: page!,
    states: [],
    proxies: [],
    received: [],
    sent: new Map(),
    start() {
      let v = 0
      let a = 0
      timers.push(
        setInterval(() => {
          const keyFrame = wantKey || v % 60 === 0
          wantKey = false
          const bytes = videoFrame(uid, v, keyFrame)
          p.sent.set(`video ${v}`, bytes)
          const data = bytes.slice().buffer
          p.page.postMessage({ kind: 'video', data, timestampUs: v++ * VIDEO_FRAME_US, keyFrame }, [data])
        }, 33),
        setInterval(() => {
          const bytes = audioFrame(uid, a)
          p.sent.set(`audio ${a}`, bytes)
          const data = bytes.slice().buffer
          p.page.postMessage({ kind: 'audio', data, timestampUs: a++ * AUDIO_FRAME_US }, [data])
        }, 20),
      )
    },
    stop() {
      timers.splice(0).forEach((timer) => clearInterval(timer))
    },
  }
  p.page.on('message', (message: MediaDown) => {
    if (message.kind === 'keyFrameRequested') wantKey = true
    else if (message.kind !== 'sendTarget') p.received.push(message)
  })
  core.on('connectionStateChanged', (state, reason) => p.states.push([state, reason]))
  core.on('proxyConnected', (info) => p.proxies.push(info))
  return p
}

/** Every frame `to` got from `from` is byte for byte one `from` sent. */
function checkFrom(to: Participant, from: Participant): { video: number; audio: number } {
  const counts = { video: 0, audio: 0 }
  for (const frame of to.received.filter((f) => f.uid === from.uid)) {
    const kind = frame.kind === 'remoteVideo' ? 'video' : 'audio'
    const marker = markerOf({ ...frame, data: new Uint8Array(frame.data), keyFrame: false })
    expect(marker?.uid).toBe(from.uid)
    expect(Buffer.from(frame.data).equals(Buffer.from(from.sent.get(`${kind} ${marker!.index}`)!))).toBe(true)
    counts[kind]++
  }
  return counts
}

describe.each([
  ['UDP', TransportType.UDPProxy, 'udp'],
  ['TCP (TLS)', TransportType.TCPProxy, 'tls'],
] as const)('two app cores on one embedded stack, %s proxy', (_name, mode, transport) => {
  it('join one channel through the proxy and exchange frames through their media bridges', async () => {
    const channel = `app-${transport}`
    const a = await participant(`a-${transport}`, 101)
    const b = await participant(`b-${transport}`, 102)
    try {
      for (const p of [a, b]) {
        expect(value(await p.core.invoke('getSettings', []))).toMatchObject({ embedded: true })
        expect(value(await p.core.invoke('setCloudProxy', [mode]))).toBe(0)
        expect(value(await p.core.invoke('setRegion', ['local']))).toBe(0)
        expect(value(await p.core.invoke('enableLocalVideo', [true]))).toBe(0)
        const token = value(await p.core.invoke('getDevToken', [channel, p.uid]))
        expect(value(await p.core.invoke('joinChannel', [token, channel, p.uid]))).toBe(0)
        expect(p.states).toEqual([
          [S.Connecting, R.JoinChannel],
          [S.Connecting, R.SettingProxyServer],
          [S.Connected, R.JoinSucceed],
        ])
        expect(p.proxies.map((info) => info.transport)).toEqual([transport])
        expect(value(await p.core.invoke('getSettings', []))).toMatchObject({ activeCloudProxy: mode })
      }
      a.start()
      b.start()
      await until(
        () =>
          [a, b].every(
            (p) =>
              p.received.filter((f) => f.kind === 'remoteVideo').length >= 15 &&
              p.received.filter((f) => f.kind === 'remoteAudio').length >= 25,
          ),
        'frames both ways',
        10_000,
      )
      const ab = checkFrom(b, a)
      const ba = checkFrom(a, b)
      expect(Math.min(ab.video, ba.video)).toBeGreaterThanOrEqual(15)
      expect(Math.min(ab.audio, ba.audio)).toBeGreaterThanOrEqual(25)
      expect(a.core.mediaStats()).toMatchObject({ malformed: 0 })
      expect(a.core.mediaStats()!.pushed.video).toBeGreaterThan(0)
      for (const p of [a, b]) {
        p.stop()
        expect(value(await p.core.invoke('leaveChannel', []))).toBe(0)
        expect(p.states.at(-1)).toEqual([S.Disconnected, R.LeaveChannel])
        expect(value(await p.core.invoke('getSettings', []))).toMatchObject({ activeCloudProxy: null })
      }
    } finally {
      a.stop()
      b.stop()
      await Promise.all([a.core.close(), b.core.close()])
      a.page.close()
      b.page.close()
    }
  })
})

describe('discovery with a real stack', () => {
  it('a second instance finds the first one’s stack; the file goes when the owner stops', async () => {
    const runDir = join(root, 'run')
    const first = await acquireLocalStack({ runDir, start: () => startLocalStack({ logLevel: 'silent' }) })
    try {
      expect(await stackAnswers(first.info)).toBe(true)
      const second = await acquireLocalStack({
        runDir,
        start: () => Promise.reject(new Error('must not start')),
      })
      expect(second.owned).toBe(false)
      expect(second.info.region).toEqual(first.info.region)
      // Tokens minted by the second instance are good for the first one's stack (same secret).
      expect((await second.mintToken('c', 1)).split('.')).toHaveLength(3)
    } finally {
      await first.close()
    }
    expect(await stackAnswers(first.info)).toBe(false)
  })

  it('a core on another instance’s stack moves to a new one when that instance quits, and can join', async () => {
    const runDir = join(root, 'run-moving')
    vi.stubEnv('PINHOLE_RUN_DIR', runDir)
    const owner = await acquireLocalStack({ runDir, start: () => startLocalStack({ logLevel: 'silent' }) })
    // No localStack option: the core acquires by discovery itself (PINHOLE_RUN_DIR) and owns what it starts.
    const core = await createAppCore({ dataDir: join(root, 'moving') })
    try {
      const first = value(await core.invoke('getSettings', [])) as AppSettings
      expect(first.regions[0]?.ports).toEqual(owner.info.region.ports)
      await owner.close()
      const token = value(await core.invoke('getDevToken', ['moved', 9]))
      const after = value(await core.invoke('getSettings', [])) as AppSettings
      expect(after.regions[0]?.ports).not.toEqual(owner.info.region.ports)
      expect(value(await core.invoke('setCloudProxy', [TransportType.TCPProxy]))).toBe(0)
      expect(value(await core.invoke('joinChannel', [token, 'moved', 9]))).toBe(0)
      expect(value(await core.invoke('leaveChannel', []))).toBe(0)
    } finally {
      await core.close()
      await owner.close()
      vi.unstubAllEnvs()
    }
  })
})
