/**
 * What the core answers before authentication and what it rate-limits (issue 10 item 5): stateless
 * answers to everyone behind one NAT address, limits on failed authentications and on allocations.
 */
import { describe, expect, it } from 'vitest'
import { Method, StunClass } from '../../../protocol/stun/constants'
import {
  encodeMessage,
  getAttr,
  newTransactionId,
  verifyIntegrity,
  type DecodedMessage,
} from '../../../protocol/stun/message'
import { TurnCore } from './turnCore'
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
const ALLOCATE = [{ name: 'REQUESTED_TRANSPORT' as const, value: 17 }]

/** A public-internet limit: 2 failed authentications per second per address, 1 allocation per second. */
const LIMITS: Partial<TurnCoreOptions> = {
  unauthenticatedPerSecond: 2,
  unauthenticatedBurst: 2,
  allocationsPerSecond: 1,
}

function coreWith(overrides: Partial<TurnCoreOptions> = LIMITS): TurnCore<ClientRef> {
  return new TurnCore<ClientRef>(coreOptions(overrides))
}

/** One desktop behind the NAT address 192.0.2.7: its own source port, its own TURN username. */
function desktop(core: TurnCore<ClientRef>, port: number, uid = `u${port}`): ScriptedClient {
  const username = restUsername(uid, T0 + 3_600_000)
  const c = new ScriptedClient(core, client(port), username, restPassword(username))
  c.now = T0
  return c
}

const code = (answer: DecodedMessage | undefined): number | undefined =>
  answer ? getAttr(answer, 'ERROR_CODE')?.code : undefined
const stats = (core: TurnCore<ClientRef>): TurnStats => core.stats as TurnStats

describe('TurnCore admission: stateless answers are never rate-limited', () => {
  const staleNonce = (c: ScriptedClient): DecodedMessage | undefined => {
    c.nonce = `${'0'.repeat(12)}${'f'.repeat(24)}` // well-formed, but not one this server issued
    return c.request(Method.Allocate, ALLOCATE)
  }
  const unknownRequired = (c: ScriptedClient): DecodedMessage | undefined => {
    const plain = encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    })
    const withUnknown = Buffer.concat([plain, Buffer.from([0x7f, 0xff, 0x00, 0x04, 1, 2, 3, 4])])
    withUnknown.writeUInt16BE(8, 2)
    return c.answerTo(c.raw(withUnknown))
  }

  it.each([
    [
      'the first 401 challenge',
      (c: ScriptedClient) => c.request(Method.Allocate, ALLOCATE, { auth: false }),
      401,
    ],
    ['a Binding request', (c: ScriptedClient) => c.request(Method.Binding, [], { auth: false }), undefined],
    ['438 with a fresh nonce', staleNonce, 438],
    ['420 for an unknown comprehension-required attribute', unknownRequired, 420],
    ['400 for a method that is not TURN', (c: ScriptedClient) => c.request(0x00a, [], { auth: false }), 400],
  ])('%s: 200 desktops behind one address all get it at once', (_name, send, expected) => {
    const core = coreWith()
    const answers = Array.from({ length: 200 }, (_, i) => send(desktop(core, 40000 + i)))
    expect(answers.filter((a) => a !== undefined)).toHaveLength(200)
    expect(new Set(answers.map(code))).toEqual(new Set([expected]))
    expect(stats(core).ignoredBy.get('rate-limited')).toBeUndefined()
  })

  it('200 desktops behind one address each get a nonce they can authenticate with', () => {
    const core = coreWith({ ...LIMITS, allocationsPerSecond: 0 })
    const desktops = Array.from({ length: 200 }, (_, i) => desktop(core, 40000 + i))
    for (const d of desktops) expect(code(d.request(Method.Allocate, ALLOCATE, { auth: false }))).toBe(401)
    const granted = desktops.map((d) => d.allocate(undefined)?.cls)
    expect(granted.every((cls) => cls === StunClass.SuccessResponse)).toBe(true)
    expect(core.allocationCount()).toBe(200)
  })
})

describe('TurnCore admission: what costs is limited', () => {
  it('limits failed authentications per source address, and counts the drops', () => {
    const core = coreWith()
    const attacker = desktop(core, 40000)
    attacker.request(Method.Allocate, ALLOCATE, { auth: false })
    attacker.password = 'guess'
    const answers = Array.from({ length: 10 }, () => attacker.request(Method.Allocate, ALLOCATE))
    expect(answers.map(code)).toEqual([401, 401, ...Array<undefined>(8).fill(undefined)])
    expect(stats(core).ignoredBy.get('rate-limited')).toBe(8)
    expect(stats(core).authFailures.get('bad-integrity')).toBe(2)
    attacker.now += 1000 // the bucket refills at 2 per second
    expect([1, 2, 3].map(() => code(attacker.request(Method.Allocate, ALLOCATE)))).toEqual([
      401,
      401,
      undefined,
    ])
  })

  it('a flood of bad credentials does not lock out the colleagues behind the same address', () => {
    const core = coreWith()
    const attacker = desktop(core, 40000)
    attacker.request(Method.Allocate, ALLOCATE, { auth: false })
    attacker.password = 'guess'
    for (let i = 0; i < 50; i++) attacker.request(Method.Allocate, ALLOCATE)
    expect(stats(core).ignoredBy.get('rate-limited')).toBe(48)
    const colleague = desktop(core, 40001)
    expect(colleague.allocate()?.cls).toBe(StunClass.SuccessResponse)
    const elsewhere = new ScriptedClient(
      core,
      { ...client(40002), remote: { family: 4, address: '198.51.100.9', port: 40002 } },
      attacker.username,
      'guess',
    )
    elsewhere.now = T0
    elsewhere.request(Method.Allocate, ALLOCATE, { auth: false })
    expect(code(elsewhere.request(Method.Allocate, ALLOCATE))).toBe(401) // another address: its own bucket
  })

  it('limits allocations per TURN username with a signed 486, refilled over time', () => {
    const core = coreWith()
    // One username from several source ports: burst of 2, then 1 per second.
    const ports = [40000, 40001, 40002, 40003]
    const clients = ports.map((port) => desktop(core, port, 'alice'))
    const answers = clients.map((c) => c.allocate())
    expect(answers.map((a) => a?.cls)).toEqual([
      StunClass.SuccessResponse,
      StunClass.SuccessResponse,
      StunClass.ErrorResponse,
      StunClass.ErrorResponse,
    ])
    expect(code(answers[2])).toBe(486)
    expect(verifyIntegrity(answers[2]!, clients[2]!.key())).toBe(true)
    expect(desktop(core, 40010, 'bob').allocate()?.cls).toBe(StunClass.SuccessResponse) // another user
    clients[2]!.now += 1000
    expect(clients[2]!.allocate()?.cls).toBe(StunClass.SuccessResponse)
    expect(core.allocationCount()).toBe(4)
  })
})
