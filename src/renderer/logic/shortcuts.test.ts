import { describe, expect, it } from 'vitest'
import {
  SHORTCUTS,
  ariaKeyShortcut,
  isMacPlatform,
  isTypingTarget,
  matchShortcut,
  shortcutLabel,
  type KeyPress,
} from './shortcuts'

const press = (over: Partial<KeyPress>): KeyPress => ({
  key: '',
  code: '',
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  repeat: false,
  ...over,
})

const BODY = { tagName: 'BODY' }
const BUTTON = { tagName: 'BUTTON' }

describe('call shortcuts', () => {
  it('Ctrl+D, Ctrl+E, Ctrl+Shift+S and Ctrl+Shift+H are mute, camera, share and leave off macOS', () => {
    const on = (key: string, shiftKey = false): string | null =>
      matchShortcut(press({ key, code: `Key${key.toUpperCase()}`, ctrlKey: true, shiftKey }), false, BODY)
    expect(on('d')).toBe('toggleMic')
    expect(on('e')).toBe('toggleCam')
    // With Shift held the browser reports the upper-case letter.
    expect(on('S', true)).toBe('toggleShare')
    expect(on('H', true)).toBe('leave')
    // The share and leave keys need Shift; mute and camera must not fire with it.
    expect(on('s')).toBeNull()
    expect(on('h')).toBeNull()
    expect(on('D', true)).toBeNull()
    expect(on('x')).toBeNull()
  })

  it('macOS uses Cmd, not Ctrl; neither fires with Alt, with both, or on a held key’s repeats', () => {
    const d = { key: 'd', code: 'KeyD' }
    expect(matchShortcut(press({ ...d, metaKey: true }), true, BODY)).toBe('toggleMic')
    expect(matchShortcut(press({ ...d, ctrlKey: true }), true, BODY)).toBeNull()
    expect(matchShortcut(press({ ...d, metaKey: true }), false, BODY)).toBeNull()
    expect(matchShortcut(press({ ...d, ctrlKey: true, altKey: true }), false, BODY)).toBeNull()
    expect(matchShortcut(press({ ...d, ctrlKey: true, metaKey: true }), false, BODY)).toBeNull()
    expect(matchShortcut(press({ ...d, ctrlKey: true, repeat: true }), false, BODY)).toBeNull()
    expect(matchShortcut(press(d), false, BODY)).toBeNull()
  })

  it('a non-Latin layout or an IME still matches by the physical key', () => {
    expect(matchShortcut(press({ key: 'в', code: 'KeyD', ctrlKey: true }), false, BODY)).toBe('toggleMic')
    expect(matchShortcut(press({ key: 'Process', code: 'KeyE', ctrlKey: true }), false, BODY)).toBe(
      'toggleCam',
    )
  })

  it('nothing fires while typing in a text field; buttons, radios and the page do not count as typing', () => {
    const d = press({ key: 'd', code: 'KeyD', ctrlKey: true })
    for (const target of [
      { tagName: 'INPUT', type: '' },
      { tagName: 'input', type: 'text' },
      { tagName: 'INPUT', type: 'password' },
      { tagName: 'TEXTAREA' },
      { tagName: 'DIV', isContentEditable: true },
    ]) {
      expect(isTypingTarget(target)).toBe(true)
      expect(matchShortcut(d, false, target)).toBeNull()
    }
    for (const target of [BODY, BUTTON, { tagName: 'INPUT', type: 'radio' }, { tagName: 'SELECT' }, null]) {
      expect(isTypingTarget(target)).toBe(false)
      expect(matchShortcut(d, false, target)).toBe('toggleMic')
    }
  })

  it('labels and aria-keyshortcuts say the same keys the matcher takes', () => {
    expect(shortcutLabel('toggleMic', false)).toBe('Ctrl+D')
    expect(shortcutLabel('toggleShare', false)).toBe('Ctrl+Shift+S')
    expect(shortcutLabel('leave', true)).toBe('⌘⇧H')
    expect(ariaKeyShortcut('toggleCam', false)).toBe('Control+E')
    expect(ariaKeyShortcut('leave', true)).toBe('Meta+Shift+H')
    for (const s of SHORTCUTS) {
      const [, ...rest] = ariaKeyShortcut(s.action, false).split('+')
      const letter = rest.pop()!
      const back = matchShortcut(
        press({ key: letter, code: `Key${letter}`, ctrlKey: true, shiftKey: rest.includes('Shift') }),
        false,
        BODY,
      )
      expect(back).toBe(s.action)
    }
    // One action per key combination.
    expect(new Set(SHORTCUTS.map((s) => `${s.key}${s.shift}`)).size).toBe(SHORTCUTS.length)
  })

  it('knows macOS from the platform string', () => {
    expect(isMacPlatform('MacIntel')).toBe(true)
    expect(isMacPlatform('macOS')).toBe(true)
    expect(isMacPlatform('Linux x86_64')).toBe(false)
    expect(isMacPlatform('Win32')).toBe(false)
  })
})
