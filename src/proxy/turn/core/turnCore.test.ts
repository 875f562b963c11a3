import { describe, expect, it } from 'vitest'
import { Method, StunClass } from '../../../protocol/stun/constants'
import {
  decodeMessage,
  encodeMessage,
  getAttr,
  longTermKey,
  newTransactionId,
  verifyIntegrity,
} from '../../../protocol/stun/message'
import { TurnCore } from './turnCore'
import { createPeerPolicy } from './peerPolicy'
import type { TurnStats } from './stats'
import {
  ScriptedClient,
  client,
  coreOptions,
  restPassword,
  restUsername,
} from '../../../../e2e/support/turnClient'
import type { ClientRef, TurnCoreOptions } from './types'

const T0 = 1_800_000_000_000
const stats = (core: TurnCore<ClientRef>): TurnStats => core.stats as TurnStats
const PEER = { family: 4 as const, address: '10.1.2.3', port: 40000 }

function setup(overrides: Partial<TurnCoreOptions> = {}, uid = 'alice', port = 50000) {
  const core = new TurnCore<ClientRef>(coreOptions(overrides))
  const username = restUsername(uid, T0 + 3_600_000)
  const c = new ScriptedClient(core, client(port), username, restPassword(username))
  c.now = T0
  return { core, c }
}

function errorCode(message: ReturnType<ScriptedClient['request']>): number | undefined {
  return message ? getAttr(message, 'ERROR_CODE')?.code : undefined
}

describe('TurnCore: Binding and authentication', () => {
  it('answers Binding with the reflexive address and no credentials', () => {
    const { c } = setup()
    const answer = c.request(Method.Binding, [], { auth: false })
    expect(answer?.cls).toBe(StunClass.SuccessResponse)
    expect(getAttr(answer!, 'XOR_MAPPED_ADDRESS')).toEqual(c.ref.remote)
  })

  it.each([
    ['Send as a request', Method.Send],
    ['Data as a request', Method.Data],
    ['an unassigned method', 0x0ff],
  ])('refuses %s with 400 before asking for credentials', (_what, method) => {
    const { c, core } = setup()
    expect(errorCode(c.request(method, [], { auth: false }))).toBe(400)
    expect(errorCode(c.request(method, []))).toBe(400)
    expect(core.allocationCount()).toBe(0)
  })

  it.each([
    ['Refresh', Method.Refresh],
    ['CreatePermission', Method.CreatePermission],
    ['ChannelBind', Method.ChannelBind],
  ])('challenges %s without credentials (401), and without an allocation answers 437', (_what, method) => {
    const { c } = setup()
    expect(errorCode(c.request(method, [], { auth: false }))).toBe(401)
    expect(errorCode(c.request(method, []))).toBe(437)
  })

  it('challenges an Allocate without credentials with 401, REALM and NONCE', () => {
    const { c, core } = setup()
    const answer = c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    expect(errorCode(answer)).toBe(401)
    expect(getAttr(answer!, 'REALM')).toBe('pinhole.test')
    expect(getAttr(answer!, 'NONCE')).toMatch(/^[0-9a-f]{36}$/)
    expect(stats(core).authFailures.size).toBe(0) // a challenge is not a failure
  })

  it('grants an allocation and signs the answer with the long-term key', () => {
    const { c, core } = setup()
    const answer = c.allocate()
    expect(answer?.cls).toBe(StunClass.SuccessResponse)
    expect(getAttr(answer!, 'XOR_RELAYED_ADDRESS')).toEqual({
      family: 4,
      address: '198.51.100.1',
      port: 50001,
    })
    expect(getAttr(answer!, 'LIFETIME')).toBe(600)
    expect(verifyIntegrity(answer!, c.key())).toBe(true)
    expect(core.allocationCount()).toBe(1)
  })

  it.each([
    ['wrong password', (c: ScriptedClient) => (c.password = 'nope'), 'bad-integrity'],
    [
      'expired username',
      (c: ScriptedClient) => {
        c.username = restUsername('alice', T0 - 1000)
        c.password = restPassword(c.username)
      },
      'expired',
    ],
    [
      'foreign secret',
      (c: ScriptedClient) => (c.password = restPassword(c.username, 'another-secret-0123456789')),
      'bad-integrity',
    ],
    [
      'malformed username',
      (c: ScriptedClient) => {
        c.username = 'alice'
        c.password = restPassword('alice')
      },
      'bad-username',
    ],
  ])('refuses %s with 401 and counts it', (_name, spoil, reason) => {
    const { c, core } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    spoil(c)
    const answer = c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }])
    expect(errorCode(answer)).toBe(401)
    expect(stats(core).authFailures.get(reason)).toBe(1)
    expect(core.allocationCount()).toBe(0)
  })

  it('answers a stale nonce with 438 and a fresh nonce that then works', () => {
    const { c, core } = setup({ nonceTtlMs: 10_000 })
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const oldNonce = c.nonce
    c.now += 11_000
    const stale = c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }])
    expect(errorCode(stale)).toBe(438)
    expect(c.nonce).not.toBe(oldNonce)
    expect(stats(core).authFailures.get('stale-nonce')).toBe(1)
    expect(c.allocate()?.cls).toBe(StunClass.SuccessResponse)
  })

  it('does not accept a nonce issued to another client address', () => {
    const { c, core } = setup()
    c.request(Method.Binding, [], { auth: false })
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const other = new ScriptedClient(
      core,
      { ...client(50009), remote: { family: 4, address: '192.0.2.99', port: 1 } },
      c.username,
      c.password,
    )
    other.now = c.now
    other.nonce = c.nonce
    expect(errorCode(other.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }]))).toBe(438)
  })

  it('accepts MESSAGE-INTEGRITY-SHA256 and answers in kind', () => {
    const { c } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const answer = c.request(Method.Refresh, [], { encode: { integrity: 'sha256' } })
    expect(errorCode(answer)).toBe(437) // authenticated, but there is no allocation yet
    expect(answer?.integritySha256Offset).toBeDefined()
    expect(verifyIntegrity(answer!, c.key())).toBe(true)
  })

  it('offers PASSWORD-ALGORITHMS and accepts a SHA-256 key when the client picks it', () => {
    const { c } = setup({ offerPasswordAlgorithms: true })
    const challenge = c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], {
      auth: false,
    })
    const offered = getAttr(challenge!, 'PASSWORD_ALGORITHMS')
    expect(offered?.map((a) => a.algorithm)).toEqual([2, 1])
    expect(c.nonce?.startsWith('obMatJos2')).toBe(true)
    const key = longTermKey(c.username, c.realm, c.password, 'sha256')
    const request = encodeMessage(
      {
        cls: StunClass.Request,
        method: Method.Refresh,
        transactionId: newTransactionId(),
        attributes: [
          { name: 'PASSWORD_ALGORITHM', value: { algorithm: 2, parameters: Buffer.alloc(0) } },
          { name: 'PASSWORD_ALGORITHMS', value: offered! },
          { name: 'USERNAME', value: c.username },
          { name: 'REALM', value: c.realm },
          { name: 'NONCE', value: c.nonce! },
        ],
      },
      { integrityKey: key, integrity: 'sha256', fingerprint: true },
    )
    const answer = c.answerTo(c.raw(request))
    expect(errorCode(answer)).toBe(437)
    expect(verifyIntegrity(answer!, key)).toBe(true)
  })

  it('refuses an unknown comprehension-required attribute with 420 listing it', () => {
    const { c } = setup()
    const plain = encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    const withUnknown = Buffer.concat([plain, Buffer.from([0x7f, 0xff, 0x00, 0x04, 1, 2, 3, 4])])
    withUnknown.writeUInt16BE(8, 2)
    const answer = c.answerTo(c.raw(withUnknown))
    expect(errorCode(answer)).toBe(420)
    expect(getAttr(answer!, 'UNKNOWN_ATTRIBUTES')).toEqual([0x7fff])
  })
})

describe('TurnCore: Allocate rules', () => {
  it('replays the answer to a retransmitted Allocate and refuses a second one with 437', () => {
    const { c } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const tid = newTransactionId()
    const data = c.buildAuthed(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], tid)
    const open = c.raw(data).find((a) => a.type === 'openRelay')
    expect(open).toBeDefined()
    const first = c.core.handle(
      {
        type: 'relayOpened',
        allocationId: open!.type === 'openRelay' ? open!.allocationId : 0,
        relay: { family: 4, address: '198.51.100.1', port: 50001 },
      },
      c.now,
    )
    const replay = c.raw(data)
    expect(replay).toEqual(first)
    expect(errorCode(c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }]))).toBe(437)
  })

  it.each([
    ['no REQUESTED-TRANSPORT', [], 400],
    ['TCP relay', [{ name: 'REQUESTED_TRANSPORT', value: 6 }], 442],
    [
      'DONT-FRAGMENT',
      [
        { name: 'REQUESTED_TRANSPORT', value: 17 },
        { name: 'DONT_FRAGMENT', value: true },
      ],
      420,
    ],
    [
      'IPv6 relay',
      [
        { name: 'REQUESTED_TRANSPORT', value: 17 },
        { name: 'REQUESTED_ADDRESS_FAMILY', value: 2 },
      ],
      440,
    ],
    [
      'a reservation token',
      [
        { name: 'REQUESTED_TRANSPORT', value: 17 },
        { name: 'RESERVATION_TOKEN', value: Buffer.alloc(8) },
      ],
      508,
    ],
  ] as const)('refuses %s with %i', (_name, attrs, code) => {
    const { c, core } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const answer = c.request(Method.Allocate, [...attrs])
    expect(errorCode(answer)).toBe(code)
    expect(verifyIntegrity(answer!, c.key())).toBe(true)
    expect(core.allocationCount()).toBe(0)
  })

  it('enforces the per-user quota with 486 and frees it when an allocation goes', () => {
    const core = new TurnCore<ClientRef>(coreOptions({ perUserQuota: 2 }))
    const username = restUsername('bob', T0 + 3_600_000)
    const clients = [1, 2, 3].map((i) => {
      const c = new ScriptedClient(core, client(51000 + i), username, restPassword(username))
      c.now = T0
      return c
    })
    expect(clients.map((c) => errorCode(c.allocate()) ?? 'ok')).toEqual(['ok', 'ok', 486])
    clients[0]!.request(Method.Refresh, [{ name: 'LIFETIME', value: 0 }])
    expect(errorCode(clients[2]!.allocate()) ?? 'ok').toBe('ok')
  })

  it('enforces the total quota with 508', () => {
    const core = new TurnCore<ClientRef>(coreOptions({ totalQuota: 1 }))
    const [a, b] = ['u1', 'u2'].map((uid, i) => {
      const name = restUsername(uid, T0 + 3_600_000)
      const c = new ScriptedClient(core, client(52000 + i), name, restPassword(name))
      c.now = T0
      return c
    })
    expect(a!.allocate()?.cls).toBe(StunClass.SuccessResponse)
    expect(errorCode(b!.allocate())).toBe(508)
  })

  it('answers 508 when the relay socket cannot be opened', () => {
    const { c, core } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    const open = c
      .raw(c.buildAuthed(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }]))
      .find((a) => a.type === 'openRelay')
    const answer = c.answerTo(
      core.handle(
        {
          type: 'relayFailed',
          allocationId: open!.type === 'openRelay' ? open!.allocationId : 0,
          reason: 'EADDRINUSE',
        },
        c.now,
      ),
    )
    expect(errorCode(answer)).toBe(508)
    expect(core.allocationCount()).toBe(0)
  })

  it('bounds the lifetime between the default and the maximum', () => {
    const { c } = setup({ defaultLifetimeSeconds: 600, maxLifetimeSeconds: 3600 })
    expect(getAttr(c.allocate(undefined, [{ name: 'LIFETIME', value: 999_999 }])!, 'LIFETIME')).toBe(3600)
    expect(getAttr(c.request(Method.Refresh, [{ name: 'LIFETIME', value: 5 }])!, 'LIFETIME')).toBe(600)
  })
})

describe('TurnCore: requests on an allocation', () => {
  it('answers Refresh, CreatePermission and ChannelBind without an allocation with 437', () => {
    const { c } = setup()
    c.request(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }], { auth: false })
    expect(errorCode(c.request(Method.Refresh, []))).toBe(437)
    expect(errorCode(c.request(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: PEER }]))).toBe(
      437,
    )
  })

  it('answers a request with another user on the same 5-tuple with 441', () => {
    const { c } = setup()
    c.allocate()
    c.username = restUsername('mallory', T0 + 3_600_000)
    c.password = restPassword(c.username)
    expect(errorCode(c.request(Method.Refresh, []))).toBe(441)
  })

  const policy = createPeerPolicy({ allow: ['10.0.0.0/8'], allowLoopback: false })
  it.each([
    ['0.0.0.0', 4],
    ['127.0.0.1', 4],
    ['::1', 6],
    ['::', 6],
    ['::ffff:127.0.0.1', 6],
    ['169.254.169.254', 4],
    ['224.0.0.1', 4],
    ['203.0.113.5', 4],
  ] as const)('refuses a permission for %s with 403 and counts it', (address, family) => {
    const { c, core } = setup({ peerPolicy: policy })
    c.allocate()
    const peer = { family, address, port: 3478 }
    expect(errorCode(c.request(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: peer }]))).toBe(
      403,
    )
    expect(
      errorCode(
        c.request(Method.ChannelBind, [
          { name: 'CHANNEL_NUMBER', value: 0x4000 },
          { name: 'XOR_PEER_ADDRESS', value: peer },
        ]),
      ),
    ).toBe(403)
    let refused = 0
    for (const n of stats(core).refusedPeers.values()) refused += n
    expect(refused).toBe(2)
  })

  it('relays Send indications only to permitted peers and Data indications back', () => {
    const { c, core } = setup()
    c.allocate()
    const send = () =>
      c.raw(
        encodeMessage({
          cls: StunClass.Indication,
          method: Method.Send,
          transactionId: newTransactionId(),
          attributes: [
            { name: 'XOR_PEER_ADDRESS', value: PEER },
            { name: 'DATA', value: Buffer.from('hello') },
          ],
        }),
      )
    expect(send()).toEqual([{ type: 'ignore', reason: 'no-permission' }])
    expect(c.request(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: PEER }])?.cls).toBe(
      StunClass.SuccessResponse,
    )
    expect(send()).toEqual([{ type: 'relay', allocationId: 1, to: PEER, data: Buffer.from('hello') }])

    const back = core.handle({ type: 'peer', allocationId: 1, from: PEER, data: Buffer.from('world') }, c.now)
    const indication = c.answerTo(back)
    expect(indication?.cls).toBe(StunClass.Indication)
    expect(getAttr(indication!, 'XOR_PEER_ADDRESS')).toEqual(PEER)
    expect(getAttr(indication!, 'DATA')).toEqual(Buffer.from('world'))
    const stranger = { ...PEER, address: '10.9.9.9' }
    expect(
      core.handle({ type: 'peer', allocationId: 1, from: stranger, data: Buffer.from('x') }, c.now),
    ).toEqual([{ type: 'ignore', reason: 'no-permission' }])
    expect(stats(core).hot.clientToPeerPackets).toBe(1)
    expect(stats(core).hot.peerToClientPackets).toBe(1)
  })

  it.each([
    ['udp', 5, 9],
    ['tcp', 5, 12],
  ] as const)(
    'binds a channel and relays ChannelData both ways over %s',
    (transport, payloadLength, wireLength) => {
      const core = new TurnCore<ClientRef>(coreOptions())
      const username = restUsername('carol', T0 + 3_600_000)
      const c = new ScriptedClient(core, client(53000, transport), username, restPassword(username))
      c.now = T0
      c.allocate()
      const bind = c.request(Method.ChannelBind, [
        { name: 'CHANNEL_NUMBER', value: 0x4001 },
        { name: 'XOR_PEER_ADDRESS', value: PEER },
      ])
      expect(bind?.cls).toBe(StunClass.SuccessResponse)
      const frame = Buffer.from([0x40, 0x01, 0x00, payloadLength, 1, 2, 3, 4, 5, 0, 0, 0])
      expect(c.raw(frame)).toEqual([
        { type: 'relay', allocationId: 1, to: PEER, data: Buffer.from([1, 2, 3, 4, 5]) },
      ])
      const back = core.handle(
        { type: 'peer', allocationId: 1, from: PEER, data: Buffer.from([9, 8, 7, 6, 5]) },
        c.now,
      )
      const sent = back[0]
      expect(sent?.type === 'send' && sent.data.length).toBe(wireLength)
      expect(sent?.type === 'send' && [...sent.data.subarray(0, 9)]).toEqual([
        0x40, 0x01, 0, 5, 9, 8, 7, 6, 5,
      ])
      // The channel is bound to that peer: rebinding it elsewhere is a 400.
      const other = { ...PEER, port: 40001 }
      expect(
        errorCode(
          c.request(Method.ChannelBind, [
            { name: 'CHANNEL_NUMBER', value: 0x4001 },
            { name: 'XOR_PEER_ADDRESS', value: other },
          ]),
        ),
      ).toBe(400)
      expect(
        errorCode(
          c.request(Method.ChannelBind, [
            { name: 'CHANNEL_NUMBER', value: 0x3fff },
            { name: 'XOR_PEER_ADDRESS', value: PEER },
          ]),
        ),
      ).toBe(400)
    },
  )

  it('drops ChannelData on an unbound channel and from a client without allocation', () => {
    const { c, core } = setup()
    expect(c.raw(Buffer.from([0x40, 0x00, 0, 1, 7, 0, 0, 0]))).toEqual([
      { type: 'ignore', reason: 'no-allocation' },
    ])
    c.allocate()
    expect(c.raw(Buffer.from([0x40, 0x00, 0, 1, 7, 0, 0, 0]))).toEqual([
      { type: 'ignore', reason: 'no-channel' },
    ])
    expect(stats(core).totalIgnored()).toBe(2)
  })

  it('expires permissions after 300 s and the allocation after its lifetime', () => {
    const { c, core } = setup()
    c.allocate()
    c.request(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: PEER }])
    const fromPeer = () =>
      core.handle({ type: 'peer', allocationId: 1, from: PEER, data: Buffer.from('x') }, c.now)
    expect(fromPeer()[0]?.type).toBe('send')
    c.now += 301_000
    core.handle({ type: 'tick' }, c.now)
    expect(fromPeer()).toEqual([{ type: 'ignore', reason: 'no-permission' }])
    c.now += 300_000
    expect(core.handle({ type: 'tick' }, c.now)).toEqual([{ type: 'closeRelay', allocationId: 1 }])
    expect(core.allocationCount()).toBe(0)
  })

  it('caps the bandwidth of one allocation and counts the drops', () => {
    const { c, core } = setup({ bandwidthBytesPerSecond: 1000 })
    c.allocate()
    c.request(Method.ChannelBind, [
      { name: 'CHANNEL_NUMBER', value: 0x4000 },
      { name: 'XOR_PEER_ADDRESS', value: PEER },
    ])
    const frame = Buffer.concat([Buffer.from([0x40, 0x00, 0x01, 0x90]), Buffer.alloc(400)])
    const kinds = [1, 2, 3, 4].map(() => c.raw(frame)[0]?.type)
    expect(kinds).toEqual(['relay', 'relay', 'ignore', 'ignore'])
    expect(stats(core).ignoredBy.get('bandwidth')).toBe(2)
    c.now += 1000
    expect(c.raw(frame)[0]?.type).toBe('relay')
  })

  it('releases the allocation when a stream client goes away', () => {
    const { c, core } = setup()
    c.allocate()
    expect(core.handle({ type: 'clientClosed', client: c.ref }, c.now)).toEqual([
      { type: 'closeRelay', allocationId: 1 },
    ])
    expect(core.allocationCount()).toBe(0)
  })

  it('counts every malformed or unexpected input', () => {
    const { c, core } = setup()
    const response = encodeMessage({
      cls: StunClass.SuccessResponse,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    const inputs = [Buffer.from('garbage!'), Buffer.alloc(3), response, Buffer.from([0x40, 0x00, 0xff, 0xff])]
    for (const data of inputs) expect(c.raw(data)[0]?.type).toBe('ignore')
    expect(stats(core).totalIgnored()).toBe(inputs.length)
    expect(decodeMessage(Buffer.alloc(0)).ok).toBe(false)
  })
})
