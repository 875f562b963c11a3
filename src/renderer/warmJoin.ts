import { ConnectionState } from '../shared/engine'
import { checkJoinForm } from './logic/joinForm'
import type { AppStore } from './state/types'

/** The form must have stood still this long (typing, pasting) before the engine is asked. */
export const WARM_DELAY_MS = 500

/**
 * Warm join (docs/engine.md "Join round trips", step W; docs/renderer.md): while the join form shows
 * (Disconnected or Failed) and holds a join the form check accepts — with a token the user gave: an
 * embedded stack's own token is minted at Join, and its proxy is this computer — the engine is asked to
 * keep a proxy session ready for exactly that join (`prepare`), once per distinct channel, uid and token,
 * after the form stood still for WARM_DELAY_MS. Nothing is shown: a warm join that cannot be prepared
 * joins cold. Returns the unsubscribe.
 */
export function watchJoinForm(
  store: AppStore,
  prepare: (token: string, channel: string, uid: number) => void,
  delayMs = WARM_DELAY_MS,
): () => void {
  let asked = ''
  let pending = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  const reset = (): void => {
    clearTimeout(timer)
    asked = pending = ''
  }
  const unsubscribe = store.subscribe(({ form, settings, connectionState }) => {
    const idle =
      connectionState === ConnectionState.Disconnected || connectionState === ConnectionState.Failed
    // In a call (and after it: the engine dropped what it kept at the join and the leave) ask afresh.
    if (!idle) return reset()
    const check = settings && checkJoinForm({ ...form, cloudProxy: settings.cloudProxy, embedded: false })
    // A form that no longer holds a join (a field cleared, a refused value) drops the pending ask.
    if (!check?.ok || settings?.embedded !== false) {
      clearTimeout(timer)
      pending = ''
      return
    }
    const key = JSON.stringify([check.token, check.channel, check.uid])
    // Other state changes (levels, notices) neither ask again nor put the pending ask off.
    if (key === asked || key === pending) return
    pending = key
    clearTimeout(timer)
    timer = setTimeout(() => {
      asked = key
      pending = ''
      prepare(check.token, check.channel, check.uid)
    }, delayMs)
  })
  return () => {
    reset()
    unsubscribe()
  }
}
