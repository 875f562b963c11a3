import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../platform/logger'
import { ProxyMetrics } from './metrics'
import { makeTurnUsername, turnRestCredential } from '../protocol/auth/turnRest'
import { ProxyServer } from './proxyServer'
import { StunClass } from '../protocol/stun/constants'
import { getAttr } from '../protocol/stun/message'
import { TEST_TURN_SECRET, testProxyConfig } from '../../e2e/support/proxyConfig'
import { TestTurnClient, errorCodeOf, type TestTransport } from '../../e2e/support/turnClient'

function credentials(uid: string) {
  const username = makeTurnUsername(uid, 600, Date.now())
  return { username, password: turnRestCredential(TEST_TURN_SECRET, username) }
}

async function echoPeer(): Promise<{ socket: UdpSocket; port: number }> {
  const socket = createSocket('udp4')
  socket.on('message', (data, rinfo) =>
    socket.send(Buffer.concat([Buffer.from('echo:'), data]), rinfo.port, rinfo.address),
  )
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, port: socket.address().port }
}

describe('ProxyServer over real sockets', () => {
  let server: ProxyServer
  let metrics: ProxyMetrics
  let peer: { socket: UdpSocket; port: number }

  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    server = await ProxyServer.start(testProxyConfig(), { logger: createLogger('silent'), metrics })
    peer = await echoPeer()
  })
  afterAll(async () => {
    peer.socket.close()
    await server.close()
  })

  const connect = async (transport: TestTransport, which = 0): Promise<TestTurnClient> => {
    const { udp, tcp } = server.addresses()
    const port = transport === 'udp' ? udp[which]! : tcp
    return TestTurnClient.connect(transport, '127.0.0.1', port, credentials(`user-${transport}-${which}`), {
      ca: server.tlsCertificatePem,
    })
  }

  it.each([
    ['udp', 0],
    ['udp', 1],
    ['tcp', 0],
    ['tls', 0],
  ] as const)(
    'relays Send/Data and ChannelData through an allocation over %s (listener %i)',
    async (transport, which) => {
      const client = await connect(transport, which)
      try {
        const allocated = await client.allocate()
        expect(allocated.cls).toBe(StunClass.SuccessResponse)
        expect(client.relayed?.address).toBe('127.0.0.1')
        const peerAddress = { family: 4 as const, address: '127.0.0.1', port: peer.port }
        expect((await client.createPermission(peerAddress)).cls).toBe(StunClass.SuccessResponse)

        client.sendIndication(peerAddress, Buffer.from('one'))
        const viaIndication = await client.next()
        expect(viaIndication.peer).toEqual(peerAddress)
        expect(viaIndication.data.toString()).toBe('echo:one')

        expect((await client.channelBind(0x4000, peerAddress)).cls).toBe(StunClass.SuccessResponse)
        client.sendChannel(0x4000, Buffer.from('two!x'))
        const viaChannel = await client.next()
        expect(viaChannel.channel).toBe(0x4000)
        expect(viaChannel.data.toString()).toBe('echo:two!x')

        const refreshed = await client.refresh(0)
        expect(getAttr(refreshed, 'LIFETIME')).toBe(0)
      } finally {
        client.close()
      }
    },
  )

  it('counts relayed packets and allocations in the metrics', () => {
    const snap = metrics.snapshot()
    expect(snap.packets.client_to_peer).toBeGreaterThanOrEqual(8)
    expect(snap.packets.peer_to_client).toBeGreaterThanOrEqual(8)
    expect(snap.allocationsTotal).toBeGreaterThanOrEqual(4)
  })

  it('counts malformed datagrams and keeps serving', async () => {
    const before = metrics.snapshot().malformed.udp?.stun ?? 0
    const client = await connect('udp')
    try {
      client.sendRaw(Buffer.from('definitely not stun'))
      client.sendRaw(Buffer.alloc(20))
      const answer = await client.allocate()
      expect(answer.cls).toBe(StunClass.SuccessResponse)
      expect(metrics.snapshot().malformed.udp?.stun).toBe(before + 2)
    } finally {
      client.close()
    }
  })
})

describe('ProxyServer peer policy (loopback not allowed)', () => {
  let server: ProxyServer
  let metrics: ProxyMetrics
  beforeAll(async () => {
    metrics = new ProxyMetrics({ defaultMetrics: false })
    server = await ProxyServer.start(testProxyConfig({ allowLoopback: false }), {
      logger: createLogger('silent'),
      metrics,
    })
  })
  afterAll(() => server.close())

  it.each([
    ['0.0.0.0', 4],
    ['127.0.0.1', 4],
    ['::1', 6],
    ['::', 6],
    ['::ffff:127.0.0.1', 6],
    ['169.254.169.254', 4],
    ['224.0.0.1', 4],
    ['198.51.100.7', 4],
  ] as const)('refuses a permission to %s with 403 and counts it', async (address, family) => {
    const client = await TestTurnClient.connect(
      'udp',
      '127.0.0.1',
      server.addresses().udp[0]!,
      credentials('sec'),
    )
    try {
      await client.allocate()
      const before = Object.values(metrics.snapshot().refusedPeers).reduce((a, b) => a + b, 0)
      const answer = await client.createPermission({ family, address, port: 9 })
      expect(errorCodeOf(answer)).toBe(403)
      const after = Object.values(metrics.snapshot().refusedPeers).reduce((a, b) => a + b, 0)
      expect(after).toBe(before + 1)
      await client.refresh(0)
    } finally {
      client.close()
    }
  })

  it('rejects wrong and expired credentials with 401', async () => {
    const port = server.addresses().udp[0]!
    const wrong = await TestTurnClient.connect('udp', '127.0.0.1', port, {
      username: credentials('x').username,
      password: 'wrong',
    })
    const expiredName = makeTurnUsername('y', 1, Date.now() - 10_000)
    const expired = await TestTurnClient.connect('udp', '127.0.0.1', port, {
      username: expiredName,
      password: turnRestCredential(TEST_TURN_SECRET, expiredName),
    })
    try {
      expect(errorCodeOf(await wrong.allocate())).toBe(401)
      expect(errorCodeOf(await expired.allocate())).toBe(401)
      const failures = metrics.snapshot().authFailures
      expect(failures['bad-integrity']).toBeGreaterThanOrEqual(1)
      expect(failures.expired).toBeGreaterThanOrEqual(1)
    } finally {
      wrong.close()
      expired.close()
    }
  })
})
