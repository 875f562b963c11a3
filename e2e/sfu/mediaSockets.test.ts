import { createSocket, type Socket } from 'node:dgram'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import { SIGNAL_VERSION } from '../../src/shared/signaling'
import type { TestClient } from './client'
import { closeAll, metric, type Sfu, startSfu } from './harness'

/**
 * Issue 10 item 3: a participant that left while its first offer was being made (werift binding the media
 * socket) left that socket bound for good, until every port of rtcPortRange was held. The ranges here are
 * below Linux's ephemeral ports, so only the server's media sockets can be in them.
 */

const RANGE: [number, number] = [20100, 20399]

/** This process's UDP sockets bound to a port in `[min, max]`, as the kernel lists them. */
function boundInRange([min, max]: [number, number]): number {
  const inodes = new Set<string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]
      if (inode) inodes.add(inode)
    } catch {
      // The fd was closed between the listing and the readlink.
    }
  }
  let count = 0
  for (const table of ['/proc/self/net/udp', '/proc/self/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const port = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16)
      if (port >= min && port <= max && inodes.has(fields[9] ?? '')) count++
    }
  }
  return count
}

const mediaSockets = (sfu: Sfu): Promise<number> => metric(sfu.server.registry, 'media_sockets')

/** Both counts settle at `expected` (closing a PeerConnection takes a few ticks). */
async function settlesAt(sfu: Sfu, range: [number, number], expected: number): Promise<void> {
  await vi.waitFor(
    async () => {
      expect({ metric: await mediaSockets(sfu), kernel: boundInRange(range) }).toEqual({
        metric: expected,
        kernel: expected,
      })
    },
    { timeout: 5000, interval: 50 },
  )
}

type Cycle = (sfu: Sfu, uid: number) => Promise<TestClient>

/** The moments a participant can go, from "before the server has made its offer" to "connected". */
const CYCLES: Record<string, Cycle> = {
  'leave sent with the join': async (sfu, uid) => {
    const client = await sfu.connect('churn', uid, { autoAnswer: false })
    client.leave()
    return client
  },
  'leave on joined': async (sfu, uid) => {
    const client = await sfu.connect('churn', uid, { autoAnswer: false })
    await client.joined()
    client.leave()
    return client
  },
  'leave right after the offer': async (sfu, uid) => {
    const client = await sfu.connect('churn', uid, { autoAnswer: false })
    await client.waitFor('offer')
    client.leave()
    return client
  },
  'leave right behind the answer': async (sfu, uid) => {
    const client = await sfu.connect('churn', uid, { autoAnswer: false })
    const offer = await client.waitFor('offer')
    await client.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp })
    await client.pc.setLocalDescription(await client.pc.createAnswer())
    const sdp = client.pc.localDescription?.sdp ?? ''
    client.sendRaw({ v: SIGNAL_VERSION, type: 'answer', seq: offer.seq, sdp })
    client.leave()
    return client
  },
  'socket dropped without leave': async (sfu, uid) => {
    const client = await sfu.connect('churn', uid, { autoAnswer: false })
    client.dropSignaling()
    return client
  },
}

describe('media sockets', () => {
  const opened: { sfu?: Sfu; sockets: Socket[] } = { sockets: [] }
  afterEach(async () => {
    for (const socket of opened.sockets.splice(0)) socket.close()
    await opened.sfu?.server.close()
  })

  it('return to their baseline after 300 rapid join/leave cycles at every point of the negotiation', async () => {
    const sfu = await startSfu({ rtcPortRange: RANGE, reconnectGraceMs: 0 })
    opened.sfu = sfu
    const witness = await sfu.join('witness', 1)
    // The gauge counts real sockets: the one participant holds exactly the one the kernel lists.
    await settlesAt(sfu, RANGE, 1)

    const cycles = Object.values(CYCLES)
    const lanes = 4
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < 300; i += lanes) {
          const client = await cycles[i % cycles.length]!(sfu, 100 + lane)
          await client.closed()
          await client.close()
        }
      }),
    )
    await settlesAt(sfu, RANGE, 1)
    expect(await metric(sfu.server.registry, 'participants')).toBe(1)

    // Ports are still there for the next desktop.
    const late = await sfu.join('witness', 2)
    await settlesAt(sfu, RANGE, 2)
    late.leave()
    await late.closed()
    await closeAll([late, witness])
    await settlesAt(sfu, RANGE, 1)
  })

  it('refuses a participant visibly (server_full, 1013) when no port of rtcPortRange is free', async () => {
    const range: [number, number] = [20400, 20401]
    const sfu = await startSfu({ rtcPortRange: range })
    opened.sfu = sfu
    for (let port = range[0]; port <= range[1]; port++) {
      const socket = createSocket('udp4')
      await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve))
      opened.sockets.push(socket)
    }

    const client = await sfu.connect('full', 1)
    const error = await client.waitFor('error')
    expect(error).toMatchObject({ code: SignalErrorCode.ServerFull, ref: 'join' })
    expect(error.message).toContain('20400-20401')
    expect(await client.closed()).toBe(SignalCloseCode.TryAgainLater)
    expect(client.messages.some((m) => m.type === 'offer')).toBe(false)
    expect(await metric(sfu.server.registry, 'join_failures_total', { code: 'server_full' })).toBe(1)
    expect(await metric(sfu.server.registry, 'participants')).toBe(0)
    await client.close()

    // A port comes free: the next join gets it and connects.
    opened.sockets.pop()?.close()
    const next = await sfu.join('full', 1)
    expect(await mediaSockets(sfu)).toBe(1)
    expect(boundInRange(range)).toBe(2)
    await closeAll([next])
  })
})
