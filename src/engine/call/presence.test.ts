import { describe, expect, it } from 'vitest'
import { ConnectionReason as R, type EngineEvents } from '../../shared/engine'
import { Presence } from './presence'
import { backoffPolicy } from './reconnectPolicy'

function recorder(): { presence: Presence; events: string[] } {
  const events: string[] = []
  const presence = new Presence(<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]) => {
    events.push([event, ...args].join(' '))
  })
  return { presence, events }
}

describe('Presence', () => {
  it('joined participants with their tracks, then changes; repeats emit nothing', () => {
    const { presence, events } = recorder()
    presence.reset([{ uid: 2, tracks: [{ trackId: '2:video', kind: 'video' }] }])
    presence.joined(2)
    presence.joined(3)
    presence.track(3, 'audio', true)
    presence.track(3, 'audio', true)
    presence.track(2, 'video', false)
    presence.track(4, 'video', true) // a track before its userJoined: the user is implied
    presence.left(3, 'leave')
    presence.left(3, 'leave')
    presence.left(4, 'serverShutdown')
    expect(events).toEqual([
      'userJoined 2',
      'userVideoStart 2',
      'userJoined 3',
      'userAudioStart 3',
      'userVideoStop 2',
      'userJoined 4',
      'userVideoStart 4',
      'userAudioStop 3',
      `userLeft 3 ${R.LeaveChannel}`,
      'userVideoStop 4',
      `userLeft 4 ${R.ChannelClosed}`,
    ])
  })

  it('after a rejoin, reset reports only the difference', () => {
    const { presence, events } = recorder()
    presence.reset([
      { uid: 2, tracks: [{ trackId: '2:audio', kind: 'audio' }] },
      { uid: 3, tracks: [] },
    ])
    events.length = 0
    presence.reset([
      { uid: 2, tracks: [{ trackId: '2:video', kind: 'video' }] },
      { uid: 5, tracks: [] },
    ])
    expect(events).toEqual([`userLeft 3 ${R.Timeout}`, 'userAudioStop 2', 'userVideoStart 2', 'userJoined 5'])
    expect(presence.has(3)).toBe(false)
  })
})

describe('Presence: screen shares and display names (issue 13)', () => {
  it('a screen track is a sub stream; names come with userJoined, at join and after a rejoin', () => {
    const { presence, events } = recorder()
    presence.reset([{ uid: 2, displayName: '张三', tracks: [{ trackId: '2:screen', kind: 'screen' }] }])
    presence.joined(3, 'René')
    presence.track(3, 'screen', true)
    presence.track(3, 'screen', false)
    presence.track(3, 'screen', true)
    presence.left(3, 'leave')
    expect(events).toEqual([
      'userJoined 2 张三',
      'userSubStreamVideoStart 2',
      'userJoined 3 René',
      'userSubStreamVideoStart 3',
      'userSubStreamVideoStop 3',
      'userSubStreamVideoStart 3',
      'userSubStreamVideoStop 3',
      `userLeft 3 ${R.LeaveChannel}`,
    ])
    events.length = 0
    // The rejoin's `joined`: a newcomer with its name; the one already known is not announced again.
    presence.reset([
      { uid: 2, displayName: '张三', tracks: [] },
      { uid: 6, displayName: '王小明', tracks: [{ trackId: '6:video', kind: 'video' }] },
    ])
    expect(events).toEqual(['userSubStreamVideoStop 2', 'userJoined 6 王小明', 'userVideoStart 6'])
  })
})

describe('backoffPolicy', () => {
  it('0, 250, 500, 1000, 2000, 2000 … and nothing past the budget', () => {
    const policy = backoffPolicy({ budgetMs: 5000 })
    expect([0, 1, 2, 3, 4, 5].map((attempt) => policy.nextDelayMs(attempt, 0))).toEqual([
      0, 250, 500, 1000, 2000, 2000,
    ])
    expect(policy.nextDelayMs(6, 3001)).toBeUndefined()
    expect(policy.nextDelayMs(6, 3000)).toBe(2000)
  })
})
