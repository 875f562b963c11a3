import { useEffect, useMemo } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import {
  ariaKeyShortcut,
  isMacPlatform,
  matchShortcut,
  shortcutLabel,
  type FocusTarget,
  type ShortcutAction,
} from '../logic/shortcuts'
import type { Controller } from '../controller'
import type { AppStore } from '../state/types'
import { useAppStore, useController } from './context'

/** What runs an action; a press of an action without a handler is left to the browser. */
export type ShortcutHandlers = Partial<Record<ShortcutAction, () => void>>

/** The handlers of the call's actions through the controller, as the buttons run them. */
export function callShortcutHandlers(controller: Controller, store: AppStore): ShortcutHandlers {
  const inCall = (): boolean => {
    const state = store.getState().connectionState
    return state !== ConnectionState.Disconnected && state !== ConnectionState.Failed
  }
  return {
    toggleMic: () => void controller.toggleMic(),
    toggleCam: () => void controller.toggleCam(),
    // A share goes to a call (the button is disabled outside one); stopping one always works.
    toggleShare: () => void (inCall() || store.getState().sharing ? controller.toggleShare() : undefined),
    // Leave only means something in a call; outside one the key press goes to the browser as usual.
    leave: () => void (inCall() ? controller.leave() : undefined),
  }
}

function platformOf(nav: Navigator): string {
  const data = (nav as Navigator & { userAgentData?: { platform?: string } }).userAgentData
  return data?.platform ?? nav.platform
}

function focusTarget(element: Element | null): FocusTarget | null {
  if (!(element instanceof HTMLElement)) return null
  return {
    tagName: element.tagName,
    type: element instanceof HTMLInputElement ? (element.getAttribute('type') ?? '') : undefined,
    isContentEditable: element.isContentEditable,
  }
}

/**
 * Listens for the call's shortcuts on the window (logic/shortcuts.ts) and runs the matching handler; a
 * matched press is kept from the browser (Ctrl+D would bookmark the page, Ctrl+E search).
 */
export function useShortcuts(handlers: ShortcutHandlers): void {
  useEffect(() => {
    const mac = isMacPlatform(platformOf(navigator))
    const onKey = (event: KeyboardEvent): void => {
      const action = matchShortcut(event, mac, focusTarget(document.activeElement))
      const run = action ? handlers[action] : undefined
      if (!run) return
      event.preventDefault()
      run()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [handlers])
}

/** The call's shortcuts for the whole window, run through the app's controller (mounted once, in App). */
export function useCallShortcuts(): void {
  const controller = useController()
  const store = useAppStore()
  const handlers = useMemo(() => callShortcutHandlers(controller, store), [controller, store])
  useShortcuts(handlers)
}

/** The keys of an action as this platform writes them, for a button's title and aria-keyshortcuts. */
export function useShortcutKeys(action: ShortcutAction): { label: string; aria: string } {
  return useMemo(() => {
    const mac = isMacPlatform(platformOf(navigator))
    return { label: shortcutLabel(action, mac), aria: ariaKeyShortcut(action, mac) }
  }, [action])
}

/**
 * A control's shortcut for people and for assistive technology: spread on the button, it says the keys in
 * the tooltip and as `aria-keyshortcuts` (which screen readers announce with the button's name).
 */
export function useShortcutProps(action: ShortcutAction): { title: string; 'aria-keyshortcuts': string } {
  const { t } = useTranslation('a11y')
  const keys = useShortcutKeys(action)
  return { title: t('shortcut', { keys: keys.label }), 'aria-keyshortcuts': keys.aria }
}
