import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Method, StunClass } from '../../../protocol/stun/constants'
import { encodeMessage, newTransactionId } from '../../../protocol/stun/message'
import { TurnCore } from './turnCore'
import { TcpFramer } from '../../../protocol/turn/framing'
import { TurnStats } from './stats'
import {
  ScriptedClient,
  client,
  coreOptions,
  restPassword,
  restUsername,
} from '../../../../e2e/support/turnClient'
import type { Action, ClientRef } from './types'

const T0 = 1_800_000_000_000
const PEER = { family: 4 as const, address: '10.1.2.3', port: 40000 }

/** A core with one live allocation, a permission and a channel, so mutations reach every handler. */
function primedCore() {
  const stats = new TurnStats()
  const core = new TurnCore<ClientRef>(coreOptions(), stats)
  const username = restUsername('prop', T0 + 3_600_000)
  const c = new ScriptedClient(core, client(50000), username, restPassword(username))
  c.now = T0
  c.allocate()
  c.request(Method.ChannelBind, [
    { name: 'CHANNEL_NUMBER', value: 0x4000 },
    { name: 'XOR_PEER_ADDRESS', value: PEER },
  ])
  return { core, stats, c }
}

/** Valid messages of every kind the core handles, as seeds for mutation. */
function seeds(c: ScriptedClient): Buffer[] {
  return [
    encodeMessage({
      cls: StunClass.Request,
      method: Method.Binding,
      transactionId: newTransactionId(),
      attributes: [],
    }),
    c.buildAuthed(Method.Refresh, [{ name: 'LIFETIME', value: 600 }]),
    c.buildAuthed(Method.CreatePermission, [{ name: 'XOR_PEER_ADDRESS', value: PEER }]),
    c.buildAuthed(Method.ChannelBind, [
      { name: 'CHANNEL_NUMBER', value: 0x4000 },
      { name: 'XOR_PEER_ADDRESS', value: PEER },
    ]),
    c.buildAuthed(Method.Allocate, [{ name: 'REQUESTED_TRANSPORT', value: 17 }]),
    encodeMessage({
      cls: StunClass.Indication,
      method: Method.Send,
      transactionId: newTransactionId(),
      attributes: [
        { name: 'XOR_PEER_ADDRESS', value: PEER },
        { name: 'DATA', value: Buffer.from('payload') },
      ],
    }),
    Buffer.from([0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0]),
  ]
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function mutate(seed: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(seed)
  switch (m.kind) {
    case 'flip':
      out[m.at % out.length] = out[m.at % out.length]! ^ (1 << m.bit)
      return out
    case 'truncate':
      return out.subarray(0, m.at % out.length)
    case 'extend':
      return Buffer.concat([out, m.bytes])
    case 'length':
      out.writeUInt16BE(m.value, 2)
      return out
  }
}

/** An input was handled when the core answered, relayed, or counted why it did nothing. */
function accounted(
  actions: Action<ClientRef>[],
  ignoredBefore: number,
  stats: TurnStats,
  errorsBefore: number,
): boolean {
  if (
    actions.some(
      (a) => a.type === 'send' || a.type === 'relay' || a.type === 'openRelay' || a.type === 'closeRelay',
    )
  ) {
    return true
  }
  let errors = 0
  for (const n of stats.errorsSent.values()) errors += n
  return stats.totalIgnored() > ignoredBefore || errors > errorsBefore
}

function errorsOf(stats: TurnStats): number {
  let n = 0
  for (const v of stats.errorsSent.values()) n += v
  return n
}

describe('TurnCore under random input', () => {
  it('never throws on random bytes, and counts every input it drops', () => {
    const { core, stats, c } = primedCore()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const ignored = stats.totalIgnored()
        const errors = errorsOf(stats)
        const actions = core.handle({ type: 'client', client: c.ref, data: Buffer.from(bytes) }, c.now)
        expect(accounted(actions, ignored, stats, errors)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('never throws on mutated valid messages, and accounts for every one', () => {
    const { core, stats, c } = primedCore()
    const valid = seeds(c)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), mutation, (index, m) => {
        const ignored = stats.totalIgnored()
        const errors = errorsOf(stats)
        const data = mutate(valid[index]!, m)
        const actions = core.handle({ type: 'client', client: c.ref, data }, c.now)
        expect(accounted(actions, ignored, stats, errors)).toBe(true)
      }),
      { numRuns: 3000 },
    )
  })

  it('never throws on random peer datagrams', () => {
    const { core, stats, c } = primedCore()
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 3 }),
        (bytes, allocationId) => {
          const ignored = stats.totalIgnored()
          const actions = core.handle(
            { type: 'peer', allocationId, from: PEER, data: Buffer.from(bytes) },
            c.now,
          )
          expect(accounted(actions, ignored, stats, errorsOf(stats))).toBe(true)
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('feeds a randomly chunked stream of mutated frames through the TCP framer into the core without a throw', () => {
    const { core, c } = primedCore()
    const valid = seeds(c)
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), mutation), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
        (picks, cuts) => {
          const stream = Buffer.concat(picks.map(([i, m]) => mutate(valid[i]!, m)))
          const framer = new TcpFramer({ maxFrameBytes: 4096 })
          let offset = 0
          let cut = 0
          while (offset < stream.length) {
            const size = cuts[cut++ % cuts.length]!
            const result = framer.push(stream.subarray(offset, offset + size), c.now)
            offset += size
            for (const frame of result.frames)
              core.handle({ type: 'client', client: c.ref, data: frame }, c.now)
            if (result.error) break // the runtime closes the connection here
          }
        },
      ),
      { numRuns: 1000 },
    )
  })
})
