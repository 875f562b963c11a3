/**
 * Issue 10 item 1: one conference server, two apps (tenants) that both call their channel "board". A
 * channel is (appKey, name), so app `other` — even with uid 1 and a stolen sessionId — never learns of
 * app `local`'s participants, never receives its media and never kicks or takes over its uid 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignalCloseCode, SignalErrorCode } from '../../src/shared/codes'
import type { ServerMessage } from '../../src/shared/signaling'
import { TestClient } from './client'
import { closeAll, metric, receives, type Sfu, startSfu } from './harness'

const LOCAL = { appKey: 'local', secret: 'local-secret-0123456789abcdef' }
const OTHER = { appKey: 'other', secret: 'other-secret-0123456789abcdef' }

/** What a participant was told about others after its `joined`: arrivals, departures, kicks. */
const presence = (client: TestClient): ServerMessage[] =>
  client.messages.filter((m) => ['userJoined', 'userLeft', 'kicked', 'trackPublished'].includes(m.type))

/** Every channel as [appKey, name, uids], sorted. */
const view = (sfu: Sfu): [string, string, number[]][] =>
  sfu.server
    .channels()
    .map((c): [string, string, number[]] => [c.appKey, c.name, c.participants.map((p) => p.uid)])
    .sort((a, b) => a.join().localeCompare(b.join()))

describe('two apps on one conference server', () => {
  let sfu: Sfu
  const clients: TestClient[] = []
  const joinAs = async (app: typeof LOCAL, channel: string, uid: number): Promise<TestClient> => {
    const token = await sfu.token(channel, uid, { app })
    const client = await TestClient.join({ url: sfu.url, token, channel, uid })
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    sfu = await startSfu({}, [LOCAL, OTHER])
  })
  afterAll(() => closeAll(clients, sfu))

  it('keeps channel "board" of each app to itself: presence, media, uids', async () => {
    // Arrange: app local's call on "board" (uids 1 and 2), media flowing both ways.
    const localA = await joinAs(LOCAL, 'board', 1)
    const localB = await joinAs(LOCAL, 'board', 2)
    localA.startMedia()
    localB.startMedia()
    await localA.until(() => receives(localA, 2, 'video', 5) || undefined, 'local A gets B')
    await localB.until(() => receives(localB, 1, 'video', 5) || undefined, 'local B gets A')
    const localPresence = [presence(localA).length, presence(localB).length]

    // Act: app other joins "board" with uid 1 (local's A's uid) and uid 3, and publishes too.
    const otherA = await joinAs(OTHER, 'board', 1)
    const otherC = await joinAs(OTHER, 'board', 3)
    otherA.startMedia()
    otherC.startMedia()

    // Assert: other's channel works (its two see and hear each other) ...
    expect((await otherA.joined()).participants).toEqual([])
    expect((await otherC.joined()).participants.map((p) => p.uid)).toEqual([1])
    await otherA.until(() => receives(otherA, 3, 'video', 10) || undefined, 'other A gets C')
    await otherC.until(() => receives(otherC, 1, 'video', 10) || undefined, 'other C gets A')
    // ... while local's call goes on untouched: A still connected and still receiving B's new frames.
    const before = localA.received.get('2:video')!.counters.size
    await localA.until(
      () => localA.received.get('2:video')!.counters.size >= before + 10 || undefined,
      'local A still gets B',
    )
    expect(localA.closeCode).toBeUndefined()
    expect(localA.pc.connectionState).toBe('connected')
    expect([presence(localA).length, presence(localB).length]).toEqual(localPresence)
    expect(presence(otherA).filter((m) => !('uid' in m) || m.uid !== 3)).toEqual([])

    // Assert: nobody subscribes across apps or receives anything from the other app's publishers.
    expect(otherA.subscriptions().map((s) => s.uid)).toEqual([3, 3])
    expect(otherC.subscriptions().map((s) => s.uid)).toEqual([1, 1])
    expect(localA.subscriptions().map((s) => s.uid)).toEqual([2, 2])
    expect(localB.subscriptions().map((s) => s.uid)).toEqual([1, 1])
    expect([...otherA.received.keys()].sort()).toEqual(['3:audio', '3:video'])
    expect([...localA.received.keys()].sort()).toEqual(['2:audio', '2:video'])
    for (const client of [localA, localB, otherA, otherC]) {
      for (const track of client.received.values()) expect(track.corrupt).toBe(0)
    }

    // Assert: the admin view and the metrics count two channels named "board", one per app.
    expect(view(sfu)).toEqual([
      ['local', 'board', [1, 2]],
      ['other', 'board', [1, 3]],
    ])
    expect(await metric(sfu.server.registry, 'channels')).toBe(2)
    expect(await metric(sfu.server.registry, 'participants')).toBe(4)
    expect(await metric(sfu.server.registry, 'leaves_total', { reason: 'serverKicked' })).toBe(0)

    // Act: the admin closes other's "board" only.
    expect(sfu.server.closeChannel({ appKey: 'other', name: 'board' })).toBe(true)
    expect(await otherA.closed()).toBe(SignalCloseCode.Kicked)
    expect(await otherC.closed()).toBe(SignalCloseCode.Kicked)
    expect(sfu.server.channels().map((c) => c.appKey)).toEqual(['local'])
    expect(localA.closeCode).toBeUndefined()
    expect(localB.closeCode).toBeUndefined()
  })

  it('does not let another app resume a participant with its sessionId', async () => {
    const local = await joinAs(LOCAL, 'desk', 1)
    const sessionId = local.sessionId!

    // Act: other, holding local's sessionId, asks to resume uid 1 of "desk".
    const token = await sfu.token('desk', 1, { app: OTHER })
    const other = await TestClient.connect({
      url: sfu.url,
      token,
      channel: 'desk',
      uid: 1,
      resume: sessionId,
    })
    clients.push(other)

    // Assert: a fresh participant in other's own "desk"; local's keeps its socket and its session.
    expect(await other.joined()).toMatchObject({ resumed: false, participants: [] })
    await other.connected()
    expect(other.sessionId).not.toBe(sessionId)
    expect(local.closeCode).toBeUndefined()
    expect(presence(local)).toEqual([])
    const desks = sfu.server.channels().filter((c) => c.name === 'desk')
    expect(desks.map((c) => c.appKey).sort()).toEqual(['local', 'other'])
  })

  it.each([
    ['an app the server does not know', { ...OTHER, appKey: 'stranger' }, SignalErrorCode.AppUnknown],
    [
      "local's appKey signed with other's secret",
      { ...OTHER, appKey: 'local' },
      SignalErrorCode.TokenInvalid,
    ],
  ])('refuses a token of %s', async (_name, app, code) => {
    const channels = view(sfu)
    const token = await sfu.token('board', 1, { app })
    const client = await TestClient.connect({ url: sfu.url, token, channel: 'board', uid: 1 })
    clients.push(client)

    expect(await client.waitFor('error')).toMatchObject({ code, ref: 'join' })
    expect(await client.closed()).toBe(SignalCloseCode.JoinRefused)
    expect(view(sfu)).toEqual(channels)
  })
})
