import { describe, expect, it } from 'vitest'
import { ErrorCode, errorMessage } from './errors'
import { ChannelNameSchema, CHANNEL_NAME_RULE, channelNameProblem, isChannelName, isUid } from './joinRules'
import { parseClientMessage } from './signaling'

const join = (channel: string) =>
  JSON.stringify({
    v: 1,
    type: 'join',
    token: 't',
    channel,
    uid: 5,
    capabilities: { audio: true, video: true },
  })

describe('channel names (one rule for the server, the engine, the IPC and the form)', () => {
  it.each([
    ['会议室', 'CJK'],
    ['회의실', 'Hangul (composed)'],
    ['réunion', 'Latin with an accent'],
    ['Комната_2', 'Cyrillic'],
    ['غرفة', 'Arabic'],
    ['कक्ष', 'Devanagari (combining marks)'],
    ['board-2.~_', 'ASCII with _ . ~ -'],
    ['𠀀'.repeat(64), '64 characters outside the BMP (128 UTF-16 units)'],
  ])('takes %s (%s) in the signaling join, the dev token request and the IPC', (name) => {
    expect(channelNameProblem(name)).toBeNull()
    expect(parseClientMessage(join(name)).ok).toBe(true)
    expect(ChannelNameSchema.safeParse(name).success).toBe(true)
  })

  it.each([
    ['', 'empty'],
    ['a b', 'character'],
    ['a/b', 'character'],
    ['a\u200db', 'character'], // zero-width joiner: looks like "ab"
    ['a\u202eb', 'character'], // right-to-left override
    ['🎉', 'character'],
    ['x'.repeat(65), 'tooLong'],
    ['会'.repeat(65), 'tooLong'],
    ['cafe\u0301', 'notNormalized'], // "café" decomposed: the composed one is the channel
  ])('refuses %j (%s), in the signaling join too', (name, problem) => {
    expect(channelNameProblem(name)).toBe(problem)
    expect(isChannelName(name)).toBe(false)
    expect(parseClientMessage(join(name)).ok).toBe(false)
  })

  it('the 414 sentence states the same rule', () => {
    expect(errorMessage(ErrorCode.RequestParameter)).toContain(CHANNEL_NAME_RULE)
  })

  it('uids are the safe non-negative integers', () => {
    expect(isUid(0)).toBe(true)
    expect(isUid(Number.MAX_SAFE_INTEGER)).toBe(true)
    expect(isUid(2 ** 53)).toBe(false)
    expect(isUid(-1)).toBe(false)
    expect(isUid(1.5)).toBe(false)
  })
})
