import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROFILE_ENV, profileUserData, windowDataDir } from './profile'

describe('profiles: a second participant on one computer', () => {
  it.each([
    [{}, undefined],
    [{ [PROFILE_ENV]: '' }, undefined],
    [{ [PROFILE_ENV]: 'second' }, join('/appData', 'Pinhole-second')],
  ])('%j → userData %s', (env, expected) => {
    expect(profileUserData('/appData', env)).toBe(expected)
  })

  it.each(['../x', 'a/b', 'x'.repeat(33), 'spa ce'])('refuses the profile name %j', (name) => {
    expect(() => profileUserData('/appData', { [PROFILE_ENV]: name })).toThrow(PROFILE_ENV)
  })

  it.each([
    [0, false, '/u'],
    [1, false, join('/u', 'windows', '2')],
    [0, true, join('/u', 'other-instance', '1')],
    [2, true, join('/u', 'other-instance', '3')],
  ])('window %i (profile held by another instance: %s) keeps its settings in %s', (index, shared, dir) => {
    expect(windowDataDir('/u', index, shared)).toBe(dir)
  })
})
