/**
 * The call's keyboard shortcuts (docs/meeting.md, "Accessibility and keyboard"): which key press is which
 * action, decided here without the DOM so the table, the labels the buttons show and the "not while
 * typing" rule are one thing, unit-tested; ui/useShortcuts.ts only listens and dispatches.
 */

export type ShortcutAction = 'toggleMic' | 'toggleCam' | 'toggleShare' | 'leave'

export interface Shortcut {
  action: ShortcutAction
  /** The letter, lower case. */
  key: string
  shift: boolean
}

/**
 * Ctrl (Cmd on macOS) + D / E as in Google Meet; Shift+S for share; Shift+H
 * ("hang up") for leave as in Microsoft Teams — Shift so a slip of the finger does not end a call.
 */
export const SHORTCUTS: readonly Shortcut[] = [
  { action: 'toggleMic', key: 'd', shift: false },
  { action: 'toggleCam', key: 'e', shift: false },
  { action: 'toggleShare', key: 's', shift: true },
  { action: 'leave', key: 'h', shift: true },
]

/** What a keydown carries that the match needs (a KeyboardEvent is one). */
export interface KeyPress {
  key: string
  code: string
  ctrlKey: boolean
  metaKey: boolean
  shiftKey: boolean
  altKey: boolean
  /** The key is held down and repeating: one press, one toggle. */
  repeat: boolean
}

/** What the focused element is, as far as typing goes. */
export interface FocusTarget {
  tagName: string
  /** An input's type attribute ('' when absent). */
  type?: string
  isContentEditable?: boolean
}

/** Input types that take text: their own Ctrl+E / Ctrl+D (editing keys, IMEs) must reach them. */
const TEXT_INPUT_TYPES = new Set([
  '',
  'text',
  'search',
  'email',
  'password',
  'tel',
  'url',
  'number',
  'date',
  'datetime-local',
  'month',
  'time',
  'week',
])

/** True while the user types in a text field: no shortcut fires then. */
export function isTypingTarget(target: FocusTarget | null): boolean {
  if (!target) return false
  if (target.isContentEditable) return true
  const tag = target.tagName.toUpperCase()
  if (tag === 'TEXTAREA') return true
  if (tag === 'INPUT') return TEXT_INPUT_TYPES.has((target.type ?? '').toLowerCase())
  return false
}

/**
 * The letter pressed: `key` when it is a Latin letter (so a Dvorak or AZERTY user presses what the label
 * says), else the physical key (`code`), as with a Russian layout or an IME composing Chinese.
 */
function letterOf(press: KeyPress): string | null {
  if (/^[a-z]$/i.test(press.key)) return press.key.toLowerCase()
  const physical = /^Key([A-Z])$/.exec(press.code)
  return physical ? physical[1]!.toLowerCase() : null
}

/** The action of a key press, or null: Cmd on macOS and Ctrl elsewhere, never with Alt or both. */
export function matchShortcut(
  press: KeyPress,
  mac: boolean,
  target: FocusTarget | null,
): ShortcutAction | null {
  if (press.repeat || press.altKey || isTypingTarget(target)) return null
  const primary = mac ? press.metaKey && !press.ctrlKey : press.ctrlKey && !press.metaKey
  if (!primary) return null
  const letter = letterOf(press)
  const hit = SHORTCUTS.find((s) => s.key === letter && s.shift === press.shiftKey)
  return hit?.action ?? null
}

function shortcutOf(action: ShortcutAction): Shortcut {
  return SHORTCUTS.find((s) => s.action === action)!
}

/** As people read it: "Ctrl+Shift+S", or on macOS "⌘⇧S". */
export function shortcutLabel(action: ShortcutAction, mac: boolean): string {
  const s = shortcutOf(action)
  const letter = s.key.toUpperCase()
  if (mac) return `⌘${s.shift ? '⇧' : ''}${letter}`
  return `Ctrl+${s.shift ? 'Shift+' : ''}${letter}`
}

/** The `aria-keyshortcuts` value (WAI-ARIA's syntax: "Control+Shift+S", "Meta+D"). */
export function ariaKeyShortcut(action: ShortcutAction, mac: boolean): string {
  const s = shortcutOf(action)
  return [mac ? 'Meta' : 'Control', ...(s.shift ? ['Shift'] : []), s.key.toUpperCase()].join('+')
}

/** macOS (Cmd) or not (Ctrl), from what the browser says of its platform. */
export function isMacPlatform(platform: string): boolean {
  return /mac|iphone|ipad/i.test(platform)
}
