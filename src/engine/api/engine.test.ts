/** The engine API and its NERTC rules, through public calls and events, against a real proxy on loopback. */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ConnectionReason as R,
  ConnectionState as S,
  TransportType,
  type EngineEvents,
  type ProxyConnectedInfo,
  type Region,
} from '../../shared/engine'
import { ErrorCode } from '../../shared/errors'
import { noCall, validateJoin } from '../call/call'
import { createEngine, type CallContext, type CallHandle, type ConnectCall, type Engine } from '..'
import type { AllocateFn } from '../route/pathSelect'
import { allocateTurn } from '../route/turnProbe'
import {
  closedTcpPort,
  closedUdpPort,
  silentTcp,
  silentUdp,
  startProxyFixture,
  type Listener,
  type ProxyFixture,
} from '../../../e2e/support/proxyFixture'

const FAST_PROBE = { udpTimeoutMs: 300, udpRetransmitMs: 50, tlsTimeoutMs: 300, sessionTimeoutMs: 1000 }
const FAST_BUDGETS = { directMs: 300, udpMs: 500, tlsMs: 1000 }

interface Recorder {
  states: [S, R][]
  events: string[]
  proxyConnected: ProxyConnectedInfo[]
  errors: number[]
}

function record(engine: Engine): Recorder {
  const recorder: Recorder = { states: [], events: [], proxyConnected: [], errors: [] }
  const names: (keyof EngineEvents)[] = [
    'joinChannel',
    'leaveChannel',
    'rejoinChannel',
    'regionProbe',
    'warning',
  ]
  for (const name of names) engine.on(name, () => recorder.events.push(name))
  engine.on('connectionStateChanged', (state, reason) => recorder.states.push([state, reason]))
  engine.on('proxyConnected', (info) => recorder.proxyConnected.push(info))
  engine.on('error', (error) => recorder.errors.push(error.code))
  return recorder
}

/** A call that joins at once and records what it was given. */
function fakeCall(): { connectCall: ConnectCall; contexts: CallContext[]; closed: number } {
  const state = { contexts: [] as CallContext[], closed: 0 }
  const connectCall: ConnectCall = (context) => {
    state.contexts.push(context)
    const handle: CallHandle = { close: () => Promise.resolve(void state.closed++) }
    return Promise.resolve(handle)
  }
  return {
    connectCall,
    contexts: state.contexts,
    get closed() {
      return state.closed
    },
  }
}

describe('engine', () => {
  let proxy: ProxyFixture
  let engine: Engine
  beforeAll(async () => {
    proxy = await startProxyFixture()
  })
  afterAll(() => proxy.close())

  const make = (options: Partial<Parameters<typeof createEngine>[0]> = {}): Engine => {
    engine = createEngine({ regions: [proxy.region], probe: FAST_PROBE, budgets: FAST_BUDGETS, ...options })
    return engine
  }
  beforeEach(() => () => engine?.release())

  describe('uid 0 with a proxy enabled', () => {
    let udp: Listener
    let tcp: Listener
    let decoy: Region
    beforeAll(async () => {
      ;[udp, tcp] = await Promise.all([silentUdp(), silentTcp()])
      decoy = {
        id: 'decoy',
        name: 'Decoy',
        proxyHost: '127.0.0.1',
        ports: { udp: [udp.port, udp.port], tcp: tcp.port },
      }
    })
    afterAll(async () => {
      await Promise.all([udp.close(), tcp.close()])
    })

    it.each([TransportType.UDPProxy, TransportType.TCPProxy, TransportType.Auto])(
      'proxy type %i: resolves 414 and not one packet reaches the proxy ports',
      async (type) => {
        const call = fakeCall()
        const e = createEngine({ regions: [decoy], probe: FAST_PROBE, connectCall: call.connectCall })
        engine = e
        const recorder = record(e)
        expect(e.setCloudProxy(type)).toBe(ErrorCode.Ok)
        expect(e.setRegion('auto')).toBe(ErrorCode.Ok)
        expect(await e.joinChannel('some-token', 'room-1', 0)).toBe(414)
        await new Promise((resolve) => setTimeout(resolve, 100))
        expect(udp.count()).toBe(0)
        expect(tcp.count()).toBe(0)
        expect(recorder.states).toEqual([])
        expect(recorder.events).toEqual([])
        expect(call.contexts).toHaveLength(0)
        expect(e.getConnectionState()).toBe(S.Disconnected)
      },
    )

    it('control: the same call with a uid does reach the decoy ports (so the listeners would have seen it)', async () => {
      const e = make({ regions: [decoy] })
      e.setCloudProxy(TransportType.UDPProxy)
      expect(await e.joinChannel('some-token', 'room-1', 7)).toBe(ErrorCode.NoRegionReachable)
      expect(udp.count()).toBeGreaterThan(0)
      expect(tcp.count()).toBeGreaterThan(0)
    })
  })

  it.each([
    ['empty token', '', 'room', 1],
    ['channel with a space', 't', 'room 1', 1],
    ['channel of 65 characters', 't', 'x'.repeat(65), 1],
    ['channel with a zero-width joiner', 't', 'a\u200db', 1],
    ['decomposed channel (not NFC)', 't', 'cafe\u0301', 1],
    ['negative uid', 't', 'room', -1],
    ['fractional uid', 't', 'room', 1.5],
    ['uid 2^53', 't', 'room', 2 ** 53],
  ])('%s is 414', async (_name, token, channel, uid) => {
    const e = make()
    expect(await e.joinChannel(token, channel, uid)).toBe(414)
    expect(e.getConnectionState()).toBe(S.Disconnected)
  })

  it.each(['会议室', 'réunion', '회의실_2'])(
    'channel %s passes the 414 check, as the server takes it',
    (channel) => {
      expect(validateJoin('t', channel, 1, TransportType.UDPProxy)).toBe(true)
    },
  )

  it('UDP proxy join: Connecting → proxy connected → connectCall → Connected, then leave', async () => {
    const call = fakeCall()
    const e = make({ connectCall: call.connectCall })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
    expect(recorder.states).toEqual([
      [S.Connecting, R.JoinChannel],
      [S.Connecting, R.SettingProxyServer],
      [S.Connected, R.JoinSucceed],
    ])
    expect(recorder.proxyConnected).toEqual([
      expect.objectContaining({ type: TransportType.UDPProxy, regionId: 'test', transport: 'udp' }),
    ])
    const info = recorder.proxyConnected[0]!
    expect(proxy.region.ports.udp.map((p) => `127.0.0.1:${p}`)).toContain(info.proxyAddress)
    // A measured span, not a speed check (a loaded machine may take seconds): positive and finite.
    expect(info.elapsedMs).toBeGreaterThan(0)
    expect(Number.isFinite(info.elapsedMs)).toBe(true)
    const context = call.contexts[0]!
    expect(context).toMatchObject({ channel: 'room-1', uid: 42, mode: TransportType.UDPProxy })
    expect(context.transport.rtcConfig).toMatchObject({
      iceTransportPolicy: 'relay',
      bundlePolicy: 'max-bundle',
    })
    expect(context.transport.rtcConfig.iceServers).toHaveLength(1)
    expect(context.proxy?.session.info.signalUrl).toBe(`wss://127.0.0.1:${proxy.region.ports.tcp}/v1/signal`)
    expect(recorder.events).toEqual(['regionProbe', 'joinChannel'])

    expect(await e.leaveChannel()).toBe(0)
    expect(recorder.states.at(-1)).toEqual([S.Disconnected, R.LeaveChannel])
    expect(call.closed).toBe(1)
    expect(context.signal.aborted).toBe(true)
    expect(proxy.allocations()).toBe(0)
  })

  it('setCloudProxy while in a channel applies at the next join', async () => {
    const call = fakeCall()
    const e = make({ connectCall: call.connectCall })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
    expect(e.setCloudProxy(TransportType.TCPProxy)).toBe(0)
    expect(e.getConnectionState()).toBe(S.Connected)
    expect(await e.leaveChannel()).toBe(0)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
    expect(recorder.proxyConnected.map((i) => [i.type, i.transport])).toEqual([
      [TransportType.UDPProxy, 'udp'],
      [TransportType.TCPProxy, 'tls'],
    ])
    expect(call.contexts[1]!.transport.rtcConfig.turnTlsOptions).toBeDefined()
  })

  it('without a call implementation the join fails honestly: CallUnavailable, Failed (joinChannelFailed)', async () => {
    const e = make({ connectCall: noCall })
    const recorder = record(e)
    e.setRegion('test')
    e.setCloudProxy(TransportType.TCPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(ErrorCode.CallUnavailable)
    expect(recorder.states).toEqual([
      [S.Connecting, R.JoinChannel],
      [S.Connecting, R.SettingProxyServer],
      [S.Failed, R.JoinChannelFailed],
    ])
    expect(recorder.errors).toEqual([ErrorCode.CallUnavailable])
    expect(await e.leaveChannel()).toBe(0)
    expect(e.getConnectionState()).toBe(S.Disconnected)
  })

  it('an expired token: Failed (requestChannelFailed) with ProxySessionTokenExpired', async () => {
    const e = make({ connectCall: fakeCall().connectCall })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token({ ttlSeconds: -5 }), 'room-1', 42)).toBe(
      ErrorCode.ProxySessionTokenExpired,
    )
    expect(recorder.states).toEqual([
      [S.Connecting, R.JoinChannel],
      [S.Failed, R.RequestChannelFailed],
    ])
    // Failed → join again is allowed.
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
  })

  it("a region whose ports differ from the proxy's answer is refused before anything goes there", async () => {
    const closedUdp = await closedUdpPort()
    const other: Region = { ...proxy.region, ports: { ...proxy.region.ports, udp: [closedUdp, closedUdp] } }
    const e = make({ regions: [other], connectCall: fakeCall().connectCall })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(ErrorCode.ProxySessionOffWhitelist)
    expect(recorder.states.at(-1)).toEqual([S.Failed, R.RequestChannelFailed])
  })

  it('UDP refused: UDP proxy fails with ProxyNotRunning (no firewall rule); Auto ends on TLS 443 and says so', async () => {
    const allocate = await udpRefused()
    const udpOnly = make({ connectCall: fakeCall().connectCall, allocate })
    udpOnly.setCloudProxy(TransportType.UDPProxy)
    // ICMP port unreachable: nothing listens on the UDP ports, which no firewall rule fixes.
    expect(await udpOnly.joinChannel(await proxy.token(), 'room-1', 42)).toBe(ErrorCode.ProxyNotRunning)
    await udpOnly.release()

    const e = make({ connectCall: fakeCall().connectCall, allocate })
    const recorder = record(e)
    e.setCloudProxy(TransportType.Auto)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
    expect(recorder.proxyConnected[0]).toMatchObject({ type: TransportType.Auto, transport: 'tls' })
    expect(recorder.proxyConnected[0]!.attempts.map((a) => `${a.transport}:${a.outcome}`)).toEqual([
      'direct:skipped',
      'udp:failed',
      'udp:failed',
      'tls:won',
    ])
  })

  it('no proxy (None) goes direct: no proxy session, no proxyConnected', async () => {
    const call = fakeCall()
    const e = make({ connectCall: call.connectCall, direct: { signalUrl: 'ws://127.0.0.1:9/v1/signal' } })
    const recorder = record(e)
    expect(e.getCloudProxy()).toBe(TransportType.None)
    expect(await e.joinChannel('t', 'room-1', 0)).toBe(0)
    expect(recorder.proxyConnected).toEqual([])
    expect(call.contexts[0]!.transport.transport).toBe('direct')
    expect(recorder.states).toEqual([
      [S.Connecting, R.JoinChannel],
      [S.Connected, R.JoinSucceed],
    ])
  })

  it('the join timeout: Failed (timeout) with 408, and the call sees its signal aborted', async () => {
    let seen: CallContext | undefined
    const e = make({
      joinTimeoutMs: 300,
      connectCall: (context) => {
        seen = context
        return new Promise<CallHandle>(() => undefined)
      },
    })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(ErrorCode.JoinTimeout)
    expect(recorder.states.at(-1)).toEqual([S.Failed, R.Timeout])
    expect(seen?.signal.aborted).toBe(true)
  })

  it('leaveChannel during a join cancels it; a call that completes late is closed', async () => {
    let finish: ((handle: CallHandle) => void) | undefined
    const close = vi.fn(() => Promise.resolve())
    const e = make({ connectCall: () => new Promise<CallHandle>((resolve) => (finish = resolve)) })
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    const joining = e.joinChannel(await proxy.token(), 'room-1', 42)
    await vi.waitFor(() => expect(finish).toBeDefined())
    expect(await e.leaveChannel()).toBe(0)
    expect(await joining).toBe(ErrorCode.JoinCanceled)
    finish!({ close })
    await vi.waitFor(() => expect(close).toHaveBeenCalledOnce())
    expect(recorder.states).toEqual([
      [S.Connecting, R.JoinChannel],
      [S.Connecting, R.SettingProxyServer],
      [S.Disconnected, R.LeaveChannel],
    ])
  })

  it('call events drive Reconnecting, rejoin and kick through the state machine', async () => {
    const call = fakeCall()
    const e = make({ connectCall: call.connectCall, direct: { signalUrl: 'ws://127.0.0.1:9/v1/signal' } })
    const recorder = record(e)
    await e.joinChannel('t', 'room-1', 5)
    const { report } = call.contexts[0]!
    report({ type: 'signalLost' })
    report({ type: 'rejoined' })
    report({ type: 'mediaLost' })
    expect(() => report({ type: 'rejoined' })).not.toThrow()
    report({ type: 'kicked' })
    expect(recorder.states.slice(2)).toEqual([
      [S.Reconnecting, R.SignalDisconnected],
      [S.Connected, R.RejoinSucceed],
      [S.Reconnecting, R.MediaConnectionDisconnected],
      [S.Connected, R.RejoinSucceed],
      [S.Disconnected, R.ServerKicked],
    ])
    expect(recorder.errors).toEqual([ErrorCode.Kicked])
    expect(call.closed).toBe(1)
    // The call is over: its late reports are ignored.
    report({ type: 'rejoined' })
    expect(e.getConnectionState()).toBe(S.Disconnected)
  })

  it('an illegal report from a call implementation throws (a bug, not a state)', async () => {
    const call = fakeCall()
    const e = make({ connectCall: call.connectCall, direct: { signalUrl: 'ws://127.0.0.1:9/v1/signal' } })
    await e.joinChannel('t', 'room-1', 5)
    expect(() => call.contexts[0]!.report({ type: 'rejoined' })).toThrow(/illegal connection transition/)
  })

  it('state rules: one join at a time, leave only in a channel, values checked, released is final', async () => {
    const e = make({
      connectCall: fakeCall().connectCall,
      direct: { signalUrl: 'ws://127.0.0.1:9/v1/signal' },
    })
    expect(await e.leaveChannel()).toBe(ErrorCode.InvalidState)
    expect(e.setCloudProxy(7 as TransportType)).toBe(414)
    expect(e.setRegion('nowhere')).toBe(ErrorCode.RegionUnknown)
    const thrower = vi.fn(() => {
      throw new Error('listener bug')
    })
    e.on('connectionStateChanged', thrower)
    expect(await e.joinChannel('t', 'room-1', 5)).toBe(0)
    expect(thrower).toHaveBeenCalled()
    expect(await e.joinChannel('t', 'room-1', 5)).toBe(ErrorCode.InvalidState)
    await e.release()
    expect(await e.joinChannel('t', 'room-1', 5)).toBe(ErrorCode.EngineReleased)
    expect(e.setCloudProxy(TransportType.UDPProxy)).toBe(ErrorCode.EngineReleased)
  })

  it('region auto probes every region, emits regionProbe for each and joins the reachable one', async () => {
    const [closedUdp, closedTcp] = await Promise.all([closedUdpPort(), closedTcpPort()])
    const dead: Region = {
      id: 'dead',
      name: 'Dead',
      proxyHost: '127.0.0.1',
      ports: { udp: [closedUdp, closedUdp], tcp: closedTcp },
    }
    const probes: string[] = []
    const e = make({ regions: [dead, proxy.region], connectCall: fakeCall().connectCall })
    e.on('regionProbe', (result) => probes.push(`${result.regionId}:${result.reachable}`))
    const recorder = record(e)
    e.setCloudProxy(TransportType.UDPProxy)
    expect(await e.joinChannel(await proxy.token(), 'room-1', 42)).toBe(0)
    expect(probes.sort()).toEqual(['dead:false', 'test:true'])
    expect(recorder.proxyConnected[0]?.regionId).toBe('test')
  })
})

/** The real allocator, with every UDP target moved to a closed port: UDP refused, as by a firewall. */
async function udpRefused(): Promise<AllocateFn> {
  const closed = await closedUdpPort()
  return (target, credentials, options) =>
    allocateTurn(target.transport === 'udp' ? { ...target, port: closed } : target, credentials, options)
}
