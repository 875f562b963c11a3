import { createSocket, type Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { RelayHandover } from './relayHandover'
import type { HandedTurn, TurnAllocation } from './turnProbe'

/** A probe allocation made with the join token's credentials (earlyRelay.ts), as the probe hands it over. */
function tokenAllocation(released: string[]): TurnAllocation {
  const socket = createSocket('udp4')
  const handed: HandedTurn = {
    socket,
    target: { transport: 'udp', host: '127.0.0.1', port: 3478 },
    credentials: { username: 'eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjd9', credential: 'signature' },
    realm: 'pinhole',
    nonce: 'nonce',
    relayed: { family: 4, address: '127.0.0.1', port: 40000 },
    mapped: undefined,
    lifetimeS: 600,
  }
  return {
    target: handed.target,
    relayed: handed.relayed,
    elapsedMs: 1,
    release: () => (released.push('released'), Promise.resolve(true)),
    handover: () => handed,
  }
}

describe('RelayHandover', () => {
  it('hands werift the session’s credentials for an allocation the token made (it outlives the token)', () => {
    const handover = new RelayHandover(tokenAllocation([]), {
      username: '1750000000:app:7',
      credential: 'rest',
    })
    const handed = handover.take()!
    expect(handed.credentials).toEqual({ username: '1750000000:app:7', credential: 'rest' })
    expect([handed.realm, handed.nonce, handed.lifetimeS]).toEqual(['pinhole', 'nonce', 600])
    expect(handover.take()).toBeUndefined()
    ;(handed.socket as Socket).close()
  })

  it('keeps the allocation’s own credentials when given none, and releases one nobody took', async () => {
    const own = new RelayHandover(tokenAllocation([]))
    const handed = own.take()!
    expect(handed.credentials.username).toBe('eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOjd9')
    ;(handed.socket as Socket).close()
    const released: string[] = []
    const untaken = new RelayHandover(tokenAllocation(released))
    expect(await untaken.discard()).toBe(true)
    expect(released).toEqual(['released'])
    expect(untaken.take()).toBeUndefined()
  })
})
