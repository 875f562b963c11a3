import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MessageChannel } from 'node:worker_threads'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { type CreateEngineOptions, type Engine, parseRegions, TypedEmitter } from '../../engine'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type EngineEvents,
  type Region,
  type RegionProbeResult,
} from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import type { AppSettings } from '../../shared/ipc'
import { proxyModeRuleSentence, settingsNoteSentence } from '../../shared/settingsNotes'
import type { PolicyLoad } from '../settings/policy'
import { createAppCore, sharedLocalStack, type AppCore, type AppCoreOptions } from './appCore'
import { localStackOf, type LocalStackInfo } from '../stack/localStack'
import { nodeMediaPort } from '../mediaBridge'
import { SETTINGS_FILE, saveSettings } from '../settings/settings'

const root = mkdtempSync(join(tmpdir(), 'pinhole-core-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (): string => join(root, String(n++))

const FINGERPRINT = Array.from({ length: 32 }, () => 'CD').join(':')
const localInfo: LocalStackInfo = {
  version: 1,
  pid: process.pid,
  nonce: 'n',
  appKey: 'pinhole-local',
  secret: 'local-secret-0123456789',
  region: {
    id: 'local',
    name: 'This computer',
    proxyHost: '127.0.0.1',
    ports: { udp: [40_001, 40_002], tcp: 40_000 },
    tlsFingerprintSha256: FINGERPRINT,
  },
  sfuSignalUrl: 'ws://127.0.0.1:40003/v1/signal',
  startedAt: new Date(0).toISOString(),
}
const region = (id: string): Region => ({
  id,
  name: id.toUpperCase(),
  proxyHost: `${id}.example.com`,
  ports: { udp: [3478, 7070], tcp: 443 },
})

/** The engine's public surface with recorded calls; the state changes a real join would make. */
class FakeEngine extends TypedEmitter<EngineEvents> implements Engine {
  proxy: TransportType = TransportType.None
  region = 'auto'
  state: S = S.Disconnected
  released = false
  readonly setCloudProxy = vi.fn((type: TransportType) => ((this.proxy = type), 0))
  readonly setRegion = vi.fn((choice: string) => ((this.region = choice), 0))
  readonly joinChannel = vi.fn(async () => {
    this.move(S.Connecting, R.JoinChannel)
    this.move(S.Connected, R.JoinSucceed)
    return 0
  })
  readonly leaveChannel = vi.fn(async () => (this.move(S.Disconnected, R.LeaveChannel), 0))
  readonly prepareJoin = vi.fn(async () => 0)
  readonly enableLocalAudio = vi.fn(() => 0)
  readonly enableLocalVideo = vi.fn(() => 0)
  readonly startScreenCapture = vi.fn(() => 0)
  readonly stopScreenCapture = vi.fn(() => 0)
  readonly pushVideoFrame = vi.fn(() => 0)
  readonly pushAudioFrame = vi.fn(() => 0)
  readonly requestRemoteKeyFrame = vi.fn(() => 0)
  constructor(readonly options: CreateEngineOptions) {
    super()
  }
  getCloudProxy(): TransportType {
    return this.proxy
  }
  getConnectionState(): S {
    return this.state
  }
  async release(): Promise<void> {
    this.released = true
  }
  move(state: S, reason: R): void {
    this.state = state
    this.emit('connectionStateChanged', state, reason)
  }
}

async function makeCore(options: Partial<AppCoreOptions> = {}) {
  const engines: FakeEngine[] = []
  const stackClose = vi.fn(async () => undefined)
  const dataDir = options.dataDir ?? freshDir()
  const core = await createAppCore({
    dataDir,
    localStack: async () => localStackOf(localInfo, stackClose),
    createEngine: (o) => {
      const engine = new FakeEngine(o)
      engines.push(engine)
      return engine
    },
    ...options,
  })
  return { core, engine: engines[0]!, dataDir, stackClose }
}

async function settings(core: AppCore): Promise<AppSettings> {
  const reply = await core.invoke('getSettings', [])
  if (!reply.ok) throw new Error(reply.error.message)
  return reply.value as AppSettings
}

describe('app core without configuration: the embedded stack', () => {
  it('offers "This computer", sets the engine up for it, and mints tokens', async () => {
    const { core, engine } = await makeCore()
    expect(engine.options.regions).toEqual([localInfo.region])
    expect(engine.options.appKey).toBe('pinhole-local')
    expect(engine.options.direct?.signalUrl).toBe(localInfo.sfuSignalUrl)
    const s = await settings(core)
    expect(s).toMatchObject({
      embedded: true,
      regions: [{ id: 'local', name: 'This computer', proxyHost: '127.0.0.1' }],
      cloudProxy: TransportType.Auto,
      activeCloudProxy: null,
      connectionState: S.Disconnected,
      locked: [],
      channel: 'demo',
    })
    expect(s.notes).toEqual([])
    const token = await core.invoke('getDevToken', ['room', 5])
    expect(token.ok && typeof token.value === 'string' && token.value.split('.')).toHaveLength(3)
    await core.close()
  })

  it('another instance’s stack that has gone: a new stack and a new engine; events and media follow', async () => {
    const moved: LocalStackInfo = {
      ...localInfo,
      nonce: 'moved',
      region: { ...localInfo.region, ports: { udp: [41_001, 41_002], tcp: 41_000 } },
    }
    const stacks = [localStackOf(localInfo), localStackOf(moved, async () => undefined)]
    const engines: FakeEngine[] = []
    const core = await createAppCore({
      dataDir: freshDir(),
      localStack: async () => stacks.shift()!,
      stackAnswers: async (info) => info.nonce !== 'n',
      createEngine: (o) => {
        const engine = new FakeEngine(o)
        engines.push(engine)
        return engine
      },
    })
    const { port1, port2: page } = new MessageChannel()
    core.attachMedia(nodeMediaPort(port1))
    await core.invoke('setCloudProxy', [TransportType.TCPProxy])
    await core.invoke('enableLocalVideo', [true])
    const seen: number[] = []
    core.on('userJoined', (uid) => seen.push(uid))

    expect(await core.invoke('getDevToken', ['room', 5])).toMatchObject({ ok: true })
    expect(engines).toHaveLength(2)
    const [old, fresh] = engines as [FakeEngine, FakeEngine]
    expect(old.released).toBe(true)
    expect(fresh.options.regions[0]?.ports.tcp).toBe(41_000)
    expect(fresh.setCloudProxy).toHaveBeenLastCalledWith(TransportType.TCPProxy)
    expect(fresh.enableLocalVideo).toHaveBeenLastCalledWith(true)
    expect((await settings(core)).regions[0]?.ports.tcp).toBe(41_000)
    old.emit('userJoined', 1)
    fresh.emit('userJoined', 2)
    expect(seen).toEqual([2])
    const data = new ArrayBuffer(3)
    page.postMessage({ kind: 'audio', data, timestampUs: 0 }, [data])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(fresh.pushAudioFrame).toHaveBeenCalledTimes(1)
    expect(old.pushAudioFrame).not.toHaveBeenCalled()
    page.close()
    await core.close()
  })

  it('does not close a stack it was given; closes the engine', async () => {
    const { core, engine, stackClose } = await makeCore()
    await core.close()
    expect(engine.released).toBe(true)
    expect(stackClose).not.toHaveBeenCalled()
    expect(await core.invoke('getSettings', [])).toMatchObject({
      ok: false,
      error: { code: ErrorCode.EngineReleased },
    })
  })

  it('a stack that fails to start: no regions, and a notice saying why', async () => {
    const { core } = await makeCore({ localStack: () => Promise.reject(new Error('no ports')) })
    const s = await settings(core)
    expect(s.embedded).toBe(false)
    expect(s.regions).toEqual([])
    expect(noticeOf(s)).toMatch(/local test stack did not start: no ports/)
    await core.close()
  })
})

describe('settings persistence', () => {
  it('mode, region, channel and uid are saved and come back in the next core', async () => {
    const dataDir = freshDir()
    const first = await makeCore({ dataDir })
    expect(await first.core.invoke('setCloudProxy', [TransportType.TCPProxy])).toEqual({ ok: true, value: 0 })
    expect(await first.core.invoke('setRegion', ['local'])).toEqual({ ok: true, value: 0 })
    await first.core.invoke('joinChannel', ['token', 'room-1', 77])
    await first.core.close()
    expect(JSON.parse(readFileSync(join(dataDir, SETTINGS_FILE), 'utf8'))).toEqual({
      cloudProxy: 2,
      region: 'local',
      channel: 'room-1',
      uid: 77,
    })
    const second = await makeCore({ dataDir })
    expect(second.engine.setCloudProxy).toHaveBeenCalledWith(TransportType.TCPProxy)
    expect(second.engine.setRegion).toHaveBeenCalledWith('local')
    expect(await settings(second.core)).toMatchObject({
      cloudProxy: 2,
      region: 'local',
      channel: 'room-1',
      uid: 77,
    })
    await second.core.close()
  })

  it('a join the engine refuses with 414 (uid 0 with a proxy) does not overwrite the saved form', async () => {
    const { core, engine } = await makeCore()
    await core.invoke('joinChannel', ['t', 'good', 5])
    await core.invoke('leaveChannel', [])
    engine.joinChannel.mockResolvedValueOnce(ErrorCode.RequestParameter)
    expect(await core.invoke('joinChannel', ['t', 'bad', 0])).toEqual({ ok: true, value: 414 })
    expect(await settings(core)).toMatchObject({ channel: 'good', uid: 5 })
    await core.close()
  })

  it('prepareJoin (warm join) goes to the engine as it stands and answers its code', async () => {
    const { core, engine } = await makeCore()
    engine.prepareJoin.mockResolvedValueOnce(ErrorCode.InvalidState)
    expect(await core.invoke('prepareJoin', ['t', 'room', 5])).toEqual({
      ok: true,
      value: ErrorCode.InvalidState,
    })
    expect(engine.prepareJoin).toHaveBeenCalledWith('t', 'room', 5)
    await core.close()
  })

  it('arguments outside the contract are 414 and change nothing', async () => {
    const { core, engine } = await makeCore()
    expect(await core.invoke('setCloudProxy', [7])).toMatchObject({ ok: false, error: { code: 414 } })
    expect(await core.invoke('joinChannel', ['t', 'room', -1])).toMatchObject({
      ok: false,
      error: { code: 414 },
    })
    expect(engine.setCloudProxy).toHaveBeenCalledTimes(1) // the start-up one
    expect(engine.joinChannel).not.toHaveBeenCalled()
    await core.close()
  })

  it('the chosen devices (ids with labels) are saved and come back; a bad choice is 414', async () => {
    const dataDir = freshDir()
    const first = await makeCore({ dataDir })
    expect((await settings(first.core)).devices).toEqual({})
    const devices = {
      cameraId: 'cam-2',
      cameraLabel: 'USB Camera',
      speakerId: 'spk-1',
      speakerLabel: 'Headset',
    }
    expect(await first.core.invoke('setDevices', [devices])).toEqual({ ok: true, value: 0 })
    expect(await first.core.invoke('setDevices', [{ cameraId: 5 }])).toMatchObject({
      ok: false,
      error: { code: 414 },
    })
    await first.core.close()
    expect(JSON.parse(readFileSync(join(dataDir, SETTINGS_FILE), 'utf8'))).toMatchObject({ devices })
    const second = await makeCore({ dataDir })
    expect((await settings(second.core)).devices).toEqual(devices)
    await second.core.close()
  })

  it('the language chosen in the app is saved and comes back; null follows the OS locale again', async () => {
    const dataDir = freshDir()
    const first = await makeCore({ dataDir, systemLocale: 'zh-CN' })
    expect(await settings(first.core)).toMatchObject({ systemLocale: 'zh-CN' })
    expect((await settings(first.core)).language).toBeUndefined()
    expect(await first.core.invoke('setLanguage', ['en'])).toEqual({ ok: true, value: 0 })
    expect(await first.core.invoke('setLanguage', ['fr'])).toMatchObject({ ok: false, error: { code: 414 } })
    await first.core.close()
    expect(JSON.parse(readFileSync(join(dataDir, SETTINGS_FILE), 'utf8'))).toMatchObject({ language: 'en' })
    const second = await makeCore({ dataDir })
    expect(await settings(second.core)).toMatchObject({ language: 'en' })
    expect(await second.core.invoke('setLanguage', [null])).toEqual({ ok: true, value: 0 })
    expect((await settings(second.core)).language).toBeUndefined()
    await second.core.close()
  })
})

describe('activeCloudProxy: "applies at next join"', () => {
  it('is the mode of the call in progress, null outside a call', async () => {
    const { core } = await makeCore()
    await core.invoke('setCloudProxy', [TransportType.UDPProxy])
    await core.invoke('joinChannel', ['t', 'room', 3])
    await core.invoke('setCloudProxy', [TransportType.TCPProxy])
    expect(await settings(core)).toMatchObject({
      cloudProxy: 2,
      activeCloudProxy: 1,
      connectionState: S.Connected,
    })
    await core.invoke('leaveChannel', [])
    expect(await settings(core)).toMatchObject({ cloudProxy: 2, activeCloudProxy: null })
    await core.close()
  })
})

describe('screen share and display names (issue 13)', () => {
  it('start/stopScreenCapture reach the engine; the display name goes with the join, NFC; a bad one is 414', async () => {
    const { core, engine } = await makeCore()
    expect(await core.invoke('startScreenCapture', [])).toEqual({ ok: true, value: 0 })
    expect(await core.invoke('stopScreenCapture', [])).toEqual({ ok: true, value: 0 })
    expect(engine.startScreenCapture).toHaveBeenCalledTimes(1)
    expect(engine.stopScreenCapture).toHaveBeenCalledTimes(1)
    // "é" as e + combining acute: the contract hands the engine the NFC form, trimmed.
    await core.invoke('joinChannel', ['t', 'room', 5, { displayName: ' 张三 Rene\u0301 ' }])
    expect(engine.joinChannel).toHaveBeenLastCalledWith('t', 'room', 5, { displayName: '张三 René' })
    for (const displayName of ['', '   ', 'bell\u0007', 'x'.repeat(65)]) {
      const reply = await core.invoke('joinChannel', ['t', 'room', 5, { displayName }])
      expect(reply).toMatchObject({ ok: false, error: { code: 414 } })
    }
    expect(await core.invoke('joinChannel', ['t', 'room', 5, { nickname: 'x' }])).toMatchObject({ ok: false })
    expect(engine.joinChannel).toHaveBeenCalledTimes(1)
    await core.close()
  })

  it('the display name of the last join is remembered for the next start; a join without one forgets it', async () => {
    const dataDir = freshDir()
    const first = await makeCore({ dataDir })
    await first.core.invoke('joinChannel', ['t', 'room', 5, { displayName: ' 王芳 ' }])
    await first.core.close()
    expect(JSON.parse(readFileSync(join(dataDir, SETTINGS_FILE), 'utf8'))).toMatchObject({
      displayName: '王芳',
    })
    const second = await makeCore({ dataDir })
    expect(await settings(second.core)).toMatchObject({ displayName: '王芳' })
    await second.core.invoke('joinChannel', ['t', 'room', 5])
    expect(await settings(second.core)).not.toHaveProperty('displayName')
    await second.core.close()
  })
})

describe('events', () => {
  it('forwards engine events, not media frames, and emits regionProbe from probeRegions', async () => {
    const probe: RegionProbeResult = { regionId: 'local', reachable: true, rttMs: 1, checks: [] }
    const { core, engine } = await makeCore({ probeRegion: async () => probe })
    const seen: string[] = []
    core.on('userJoined', (uid) => seen.push(`joined ${uid}`))
    core.on('regionProbe', (result) => seen.push(`probe ${result.regionId}`))
    engine.emit('userJoined', 4)
    engine.emit('remoteVideoFrame', { uid: 4, data: new Uint8Array(1), timestampUs: 0, keyFrame: true })
    expect(await core.invoke('probeRegions', [])).toEqual({ ok: true, value: [probe] })
    expect(seen).toEqual(['joined 4', 'probe local'])
    await core.close()
  })
})

describe('hosts without a media port, configured regions', () => {
  it('connectMedia is InvalidState without openMediaPort; getDevToken without the stack too', async () => {
    const start = vi.fn()
    const { core, engine } = await makeCore({ regions: [region('sh')], localStack: start })
    expect(start).not.toHaveBeenCalled()
    expect(engine.options.regions.map((r) => r.id)).toEqual(['sh'])
    expect(await core.invoke('connectMedia', [])).toMatchObject({
      ok: false,
      error: { code: ErrorCode.InvalidState },
    })
    expect(await core.invoke('getDevToken', ['room', 1])).toMatchObject({
      ok: false,
      error: { code: ErrorCode.InvalidState },
    })
    expect(await settings(core)).toMatchObject({ embedded: false, region: 'auto' })
    await core.close()
  })
})

describe('the IT policy wins', () => {
  const valid = (policy: object): PolicyLoad =>
    ({ status: 'valid', path: '/etc/pinhole/policy.json', policy }) as PolicyLoad

  it('a forced mode: the engine gets it, cloudProxy is locked, another mode is refused', async () => {
    const dataDir = freshDir()
    saveSettings(dataDir, { cloudProxy: TransportType.UDPProxy, channel: 'c', uid: 1 })
    const { core, engine } = await makeCore({
      dataDir,
      policy: valid({ regions: [region('bj')], proxyMode: { forced: TransportType.TCPProxy } }),
    })
    expect(engine.setCloudProxy).toHaveBeenLastCalledWith(TransportType.TCPProxy)
    const s = await settings(core)
    expect(s.locked).toContain('cloudProxy')
    expect(s.regions.map((r) => r.id)).toEqual(['bj'])
    expect(s.embedded).toBe(false)
    expect(noticeOf(s)).toMatch(/IT policy/)
    expect(s.allowedProxyModes).toEqual([TransportType.TCPProxy])
    expect(ruleOf(s)).toBe('Your IT policy sets the proxy mode: TCP/TLS 443 proxy.')
    expect(await core.invoke('setCloudProxy', [TransportType.UDPProxy])).toMatchObject({
      ok: false,
      error: { code: ErrorCode.NotAllowedByPolicy, detail: expect.stringMatching(/IT policy/) },
    })
    expect(await core.invoke('setCloudProxy', [TransportType.TCPProxy])).toEqual({ ok: true, value: 0 })
    await core.close()
  })

  it('the policy’s corporate HTTP proxy goes to the engine and to the region probes', async () => {
    const httpProxy = { host: 'proxy.corp.example', port: 3128 }
    const probe = vi.fn(async () => ({ regionId: 'bj', reachable: true, checks: [] }))
    const { core, engine } = await makeCore({
      policy: valid({ regions: [region('bj')], httpProxy }),
      probeRegion: probe,
    })
    expect(engine.options.httpProxy).toEqual(httpProxy)
    await core.invoke('probeRegions', [])
    expect(probe).toHaveBeenCalledWith(expect.objectContaining({ id: 'bj' }), { httpProxy })
    await core.close()
  })

  it('allowed modes: the others are not offered, with the reason, and refused as the policy’s, not 30005', async () => {
    const { core } = await makeCore({
      policy: valid({ regions: [region('bj')], proxyMode: { allowed: [1, 2], default: 2 } }),
    })
    const s = await settings(core)
    expect(s.allowedProxyModes).toEqual([1, 2])
    expect(ruleOf(s)).toBe('Your IT policy allows only these proxy modes: UDP proxy, TCP/TLS 443 proxy.')
    expect(await core.invoke('setCloudProxy', [TransportType.None])).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: ErrorCode.NotAllowedByPolicy,
        detail:
          'proxy mode 0 (no proxy): Your IT policy allows only these proxy modes: UDP proxy, TCP/TLS 443 proxy.',
      }),
    })
    expect(await core.invoke('setCloudProxy', [TransportType.UDPProxy])).toEqual({ ok: true, value: 0 })
    await core.close()
  })

  it('without a policy every mode is offered and nothing is said', async () => {
    const { core } = await makeCore({})
    const s = await settings(core)
    expect(s.allowedProxyModes).toEqual([0, 1, 2, 3])
    expect(s.proxyModeRule).toBeUndefined()
    await core.close()
  })

  it('a locked region cannot be changed', async () => {
    const { core } = await makeCore({
      policy: valid({ regions: [region('bj'), region('sh')], defaultRegion: 'sh', locked: ['region'] }),
    })
    expect(await settings(core)).toMatchObject({ region: 'sh', locked: ['region'] })
    expect(await core.invoke('setRegion', ['bj'])).toMatchObject({
      ok: false,
      error: { code: ErrorCode.NotAllowedByPolicy },
    })
    await core.close()
  })

  it('the four example regions under a policy that locks them to Guangzhou: listed in order, no other pick', async () => {
    const example = parseRegions(
      JSON.parse(readFileSync(join(process.cwd(), 'resources/regions.example.json'), 'utf8')),
    )
    const { core, engine } = await makeCore({
      policy: valid({ regions: example, defaultRegion: 'guangzhou', locked: ['region', 'regions'] }),
    })
    const s = await settings(core)
    expect(s.regions.map((r) => [r.id, r.name])).toEqual([
      ['shanghai', 'Shanghai 上海 (example)'],
      ['beijing', 'Beijing 北京 (example)'],
      ['guangzhou', 'Guangzhou 广州 (example)'],
      ['chengdu', 'Chengdu 成都 (example)'],
    ])
    expect(s).toMatchObject({ region: 'guangzhou', embedded: false })
    expect(s.locked).toEqual(expect.arrayContaining(['region', 'regions']))
    for (const choice of ['chengdu', 'auto']) {
      expect(await core.invoke('setRegion', [choice])).toMatchObject({
        ok: false,
        error: { code: ErrorCode.NotAllowedByPolicy },
      })
    }
    expect(engine.region).toBe('guangzhou')
    await core.close()
  })

  it('no regions and the embedded stack not allowed: no stack, a notice', async () => {
    const start = vi.fn()
    const { core } = await makeCore({ localStack: start, policy: valid({ allowEmbeddedStack: false }) })
    expect(start).not.toHaveBeenCalled()
    const s = await settings(core)
    expect(s).toMatchObject({ embedded: false, regions: [] })
    expect(noticeOf(s)).toMatch(/does not allow the local test stack/)
    await core.close()
  })

  it('an invalid policy: nothing of it applied, no stack, TCP locked, the notice says so', async () => {
    const start = vi.fn()
    const { core } = await makeCore({
      localStack: start,
      policy: { status: 'invalid', path: '/etc/pinhole/policy.json', reason: 'regions: bad', issues: [] },
    })
    expect(start).not.toHaveBeenCalled()
    const s = await settings(core)
    expect(s).toMatchObject({ embedded: false, regions: [], cloudProxy: TransportType.TCPProxy })
    expect(s.locked).toEqual(['cloudProxy', 'region', 'regions'])
    expect(noticeOf(s)).toMatch(/invalid/)
    await core.close()
  })
})

describe('sharedLocalStack', () => {
  it('acquires once for every core, drops a found stack that has gone, closes what it holds', async () => {
    const close = vi.fn(async () => undefined)
    const found = localStackOf(localInfo)
    const own = localStackOf({ ...localInfo, nonce: 'own' }, close)
    const acquire = vi.fn().mockResolvedValueOnce(found).mockResolvedValueOnce(own)
    let alive = true
    const shared = sharedLocalStack(acquire, async () => alive)
    expect(await shared.get()).toBe(found)
    expect(await shared.get()).toBe(found)
    expect(acquire).toHaveBeenCalledTimes(1)
    alive = false
    expect(await shared.get()).toBe(own)
    expect(await shared.get()).toBe(own)
    expect(acquire).toHaveBeenCalledTimes(2)
    await shared.close()
    expect(close).toHaveBeenCalledTimes(1)
  })
})

/** The page's notes in English, as the log and the English UI say them. */
function noticeOf(s: AppSettings): string {
  return s.notes.map(settingsNoteSentence).join(' ')
}

function ruleOf(s: AppSettings): string | undefined {
  return s.proxyModeRule && proxyModeRuleSentence(s.proxyModeRule)
}
