import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestClient } from './client'
import { closeAll, metric, receives, type Sfu, startSfu } from './harness'

describe('three werift clients in one channel', () => {
  let sfu: Sfu
  const clients: TestClient[] = []

  beforeAll(async () => {
    sfu = await startSfu()
  })
  afterAll(() => closeAll(clients, sfu))

  it('tells each of the others, forwards everyone’s audio and video intact, and cleans up', async () => {
    // Arrange: A, B, C join one after another and publish.
    const [a, b, c] = [await sfu.join('call', 1), await sfu.join('call', 2), await sfu.join('call', 3)]
    clients.push(a!, b!, c!)
    for (const client of clients) client.startMedia()

    // Assert: presence.
    const joinedC = await c!.joined()
    expect(joinedC.participants.map((p) => p.uid).sort()).toEqual([1, 2])
    await a!.waitFor('userJoined', (m) => m.uid === 2)
    await a!.waitFor('userJoined', (m) => m.uid === 3)
    await b!.waitFor('userJoined', (m) => m.uid === 3)

    // Assert: media, each from the two others, with intact payloads.
    const pairs = clients.flatMap((to) =>
      clients.filter((from) => from !== to).map((from) => [to, from.options.uid] as const),
    )
    await a!.until(
      () =>
        pairs.every(([to, uid]) => receives(to, uid, 'audio', 10) && receives(to, uid, 'video', 10)) ||
        undefined,
      'media between all pairs',
    )
    for (const [to, uid] of pairs) {
      for (const kind of ['audio', 'video'] as const)
        expect(to.received.get(`${uid}:${kind}`)?.corrupt).toBe(0)
      expect(to.received.get(`${uid}:video`)?.keyframes).toBeGreaterThan(0)
    }
    expect(a!.received.has('1:audio')).toBe(false)
    const [view] = sfu.server.channels()
    expect(view?.participants.map((p) => [p.uid, p.tracks.length, p.subscriptions])).toEqual([
      [1, 2, 4],
      [2, 2, 4],
      [3, 2, 4],
    ])

    // Act: C leaves.
    c!.leave()
    expect(await c!.closed()).toBe(1000)
    for (const other of [a!, b!]) {
      expect(await other.waitFor('userLeft', (m) => m.uid === 3)).toMatchObject({ reason: 'leave' })
    }
    // The others renegotiate C's m-lines away.
    await a!.until(() => a!.subscriptions().every((s) => s.uid !== 3) || undefined, 'C unsubscribed')

    // Act: the last two leave.
    a!.leave()
    b!.leave()
    await Promise.all([a!.closed(), b!.closed()])

    // Assert: the channel is gone, and the server holds nothing for it.
    await a!.until(() => sfu.server.channels().length === 0 || undefined, 'channel closed')
    expect(await metric(sfu.server.registry, 'channels')).toBe(0)
    expect(await metric(sfu.server.registry, 'participants')).toBe(0)
    expect(await metric(sfu.server.registry, 'subscriptions')).toBe(0)
    expect(await metric(sfu.server.registry, 'tracks', { kind: 'video' })).toBe(0)
    expect(await metric(sfu.server.registry, 'forwarded_packets_total', { kind: 'video' })).toBeGreaterThan(0)
    expect(await metric(sfu.server.registry, 'leaves_total', { reason: 'leave' })).toBe(3)
  })
})

describe('publishing and unpublishing', () => {
  it('tells the others, renegotiates, and resumes forwarding with a keyframe', async () => {
    const sfu = await startSfu({ keyframeMinIntervalMs: 50 })
    const a = await sfu.join('pub', 1)
    const b = await sfu.join('pub', 2, { publish: { audio: false, video: false } })
    try {
      a.startMedia()
      await b.until(() => receives(b, 1, 'video', 5) || undefined, 'video')
      // B joined after A published: it learnt of A's tracks from `joined`.
      expect((await b.joined()).participants).toEqual([
        {
          uid: 1,
          tracks: [
            { trackId: '1:audio', kind: 'audio' },
            { trackId: '1:video', kind: 'video' },
          ],
        },
      ])
      expect(sfu.server.channels()[0]?.participants[1]?.tracks).toEqual([])

      a.sendRaw({ v: 1, type: 'unpublish', kind: 'video' })
      expect(await b.waitFor('trackUnpublished')).toMatchObject({ uid: 1, kind: 'video', trackId: '1:video' })
      await b.until(
        () => b.subscriptions().every((s) => s.kind !== 'video') || undefined,
        'video m-line freed',
      )

      const keyframesBefore = b.received.get('1:video')!.keyframes
      a.sendRaw({ v: 1, type: 'publish', kind: 'video' })
      await b.waitFor(
        'trackPublished',
        (m) => m.kind === 'video' && b.messages.some((x) => x.type === 'trackUnpublished'),
      )
      await b.until(() => b.received.get('1:video')!.keyframes > keyframesBefore || undefined, 'video again')
      expect(b.received.get('1:video')!.corrupt).toBe(0)
      // The freed m-line was reused rather than a new one added (the others: the camera and screen slots).
      expect(b.pc.getTransceivers().filter((t) => t.kind === 'video')).toHaveLength(3)
    } finally {
      await closeAll([a, b], sfu)
    }
  })
})

describe('a participant that joins with subscribe: false', () => {
  it('receives nothing, and is still seen and received by the others', async () => {
    const sfu = await startSfu()
    const clients: TestClient[] = []
    try {
      // X before it, Y after it: both the admit path and the track-published path must leave it out.
      const x = await sfu.join('feed', 1, { displayName: 'X' })
      clients.push(x)
      x.startMedia()
      const feed = await sfu.join('feed', 2, { displayName: 'Feed', subscribe: false })
      clients.push(feed)
      feed.startMedia()
      const y = await sfu.join('feed', 3)
      clients.push(y)
      y.startMedia()

      await x.waitFor('userJoined', (m) => m.uid === 2 && m.displayName === 'Feed')
      expect((await y.joined()).participants.find((p) => p.uid === 2)?.displayName).toBe('Feed')
      const flowing = (): boolean =>
        [x, y].every((to) => receives(to, 2, 'audio', 10) && receives(to, 2, 'video', 10)) &&
        receives(x, 3, 'video', 50) &&
        receives(y, 1, 'video', 50)
      await x.until(() => flowing() || undefined, "the feed's media at X and Y, and theirs to each other")

      expect([...feed.received.keys()]).toEqual([])
      expect(feed.subscriptions()).toEqual([])
      const participants = sfu.server.channels()[0]?.participants
      expect(participants?.map((p) => [p.uid, p.subscriptions])).toEqual([
        [1, 4],
        [2, 0],
        [3, 4],
      ])
      expect(participants?.[1]?.tracks.map((t) => t.subscribers)).toEqual([2, 2])
    } finally {
      await closeAll(clients, sfu)
    }
  })
})
