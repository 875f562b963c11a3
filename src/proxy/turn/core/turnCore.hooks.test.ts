import { describe, expect, it } from 'vitest'
import { Method, StunClass } from '../../../protocol/stun/constants'
import { TurnCore } from './turnCore'
import {
  ScriptedClient,
  client,
  coreOptions,
  restPassword,
  restUsername,
} from '../../../../e2e/support/turnClient'
import type { BandwidthBucket, Channel, ClientRef, TurnCoreHooks } from './types'

// TurnCoreHooks: how an I/O layer (the native fast path, src/proxy/turn/node/fastPath.ts) mirrors the
// core's state.
const T0 = 1_800_000_000_000
const PEER = { family: 4 as const, address: '10.1.2.3', port: 40000 }

function setup(bandwidthBytesPerSecond = 0) {
  const events: string[] = []
  const taken: number[] = []
  const bucket: BandwidthBucket = {
    take: (_now, bytes) => {
      taken.push(bytes)
      return taken.length <= 1
    },
  }
  const hooks: TurnCoreHooks<ClientRef> = {
    bucketFor: (id, ref, rate) => {
      events.push(`bucket ${id} ${ref.transport} ${rate}`)
      return bucket
    },
    channelBound: (id, channel: Channel, now) =>
      events.push(`bound ${id} ${channel.number} ${channel.expiresAt - now}`),
    channelExpired: (id, channel: Channel) => events.push(`expired ${id} ${channel.number}`),
  }
  const core = new TurnCore<ClientRef>(
    coreOptions({ bandwidthBytesPerSecond, defaultLifetimeSeconds: 3600 }),
    undefined,
    hooks,
  )
  const username = restUsername('dave', T0 + 3_600_000)
  const c = new ScriptedClient(core, client(54000), username, restPassword(username))
  c.now = T0
  c.allocate()
  return { core, c, events, taken }
}

const bind = (c: ScriptedClient) =>
  c.request(Method.ChannelBind, [
    { name: 'CHANNEL_NUMBER', value: 0x4001 },
    { name: 'XOR_PEER_ADDRESS', value: PEER },
  ])

describe('TurnCore hooks', () => {
  it('asks for the bandwidth bucket of each new allocation and charges it on both paths', () => {
    const { core, c, events, taken } = setup(1000)
    expect(events).toEqual(['bucket 1 udp 1000'])
    expect(bind(c)?.cls).toBe(StunClass.SuccessResponse)
    expect(c.raw(Buffer.from([0x40, 0x01, 0, 3, 1, 2, 3, 0]))).toMatchObject([{ type: 'relay' }])
    // The injected bucket refuses from the second take on: the peer's datagram is dropped as over the cap.
    expect(core.handle({ type: 'peer', allocationId: 1, from: PEER, data: Buffer.alloc(5) }, c.now)).toEqual([
      { type: 'ignore', reason: 'bandwidth' },
    ])
    expect(taken).toEqual([3, 5])
  })

  it('reports a channel bound and refreshed with its remaining lifetime, and its expiry on the tick', () => {
    const { core, c, events } = setup()
    bind(c)
    c.now += 60_000
    bind(c)
    expect(events.slice(1)).toEqual(['bound 1 16385 600000', 'bound 1 16385 600000'])
    core.handle({ type: 'tick' }, c.now + 599_999)
    expect(events).toHaveLength(3)
    core.handle({ type: 'tick' }, c.now + 600_000)
    expect(events.slice(3)).toEqual(['expired 1 16385'])
  })

  it('reports nothing for a refused ChannelBind', () => {
    const { c, events } = setup()
    const answer = c.request(Method.ChannelBind, [
      { name: 'CHANNEL_NUMBER', value: 0x4001 },
      { name: 'XOR_PEER_ADDRESS', value: { ...PEER, address: '192.0.2.1' } },
    ])
    expect(answer?.cls).toBe(StunClass.ErrorResponse)
    expect(events).toEqual(['bucket 1 udp 0'])
  })
})
