/**
 * Issue 10 item 2 (recovery): a media path that dies while werift says "connected" — here a client whose
 * PeerConnection goes without a word, which the ICE-lite server never notices by itself — is found by the
 * server's stall watch: the participant is closed (`userLeft timeout`), its socket closed 4006 so that the
 * client rejoins, and the stall counted. The same uid then joins again and media flows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignalCloseCode } from '../../src/shared/codes'
import type { TestClient } from './client'
import { closeAll, metric, receives, type Sfu, startSfu } from './harness'

describe('media stall watch', () => {
  let sfu: Sfu
  const clients: TestClient[] = []

  beforeAll(async () => {
    sfu = await startSfu({ mediaStallMs: 1000 })
  })
  afterAll(() => closeAll(clients, sfu))

  it('closes a participant whose media went silent with 4006, and the rejoin gets media again', async () => {
    const [a, b] = [await sfu.join('stall', 1), await sfu.join('stall', 2)]
    clients.push(a!, b!)
    for (const client of clients) client.startMedia()
    await a!.until(() => (receives(a!, 2, 'video', 10) && receives(b!, 1, 'video', 10)) || undefined, 'media')
    // Flowing media is no stall, for several times mediaStallMs.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    expect(await metric(sfu.server.registry, 'media_stalls_total', { cause: 'silent' })).toBe(0)

    // A's PeerConnection goes silently (werift sends no close_notify); its signaling stays open.
    a!.stopMedia()
    await a!.pc.close()
    expect(await a!.closed(5000)).toBe(SignalCloseCode.MediaStalled)
    expect(await b!.waitFor('userLeft', (m) => m.uid === 1)).toMatchObject({ reason: 'timeout' })
    expect(await metric(sfu.server.registry, 'media_stalls_total', { cause: 'silent' })).toBe(1)

    const before = b!.received.get('1:video')?.packets ?? 0
    const again = await sfu.join('stall', 1)
    clients.push(again)
    again.startMedia()
    await again.until(
      () =>
        (receives(again, 2, 'video', 10) && (b!.received.get('1:video')?.packets ?? 0) > before + 10) ||
        undefined,
      'media after the rejoin',
    )
    expect(again.received.get('2:video')?.corrupt).toBe(0)
  })
})
