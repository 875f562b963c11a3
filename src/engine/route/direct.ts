import { connect } from 'node:net'
import type { RTCIceServer } from 'werift'
import { EngineError, ErrorCode } from '../../shared/errors'

/**
 * The conference server without a proxy (proxy mode None, and Auto's first try: docs/architecture.md
 * "Proxy modes").
 */
export interface DirectConfig {
  signalUrl: string
  /** ICE servers for direct mode; werift falls back to a public STUN server when given none. */
  iceServers?: RTCIceServer[]
}

/** Resolves when the conference server answers directly within the budget; rejects otherwise. */
export type DirectProbe = (direct: DirectConfig, budgetMs: number, signal: AbortSignal) => Promise<void>

/** Default direct probe: a TCP connection to the signaling URL's host and port. */
export const probeDirectTcp: DirectProbe = (direct, budgetMs, signal) => {
  const url = new URL(direct.signalUrl)
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80))
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port, timeout: budgetMs })
    const fail = (detail: string): void => {
      socket.destroy()
      reject(new EngineError(ErrorCode.DirectUnreachable, `${host}:${port}: ${detail}`))
    }
    const onAbort = (): void => fail('canceled')
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve()
    })
    socket.once('timeout', () => fail(`no answer in ${budgetMs} ms`))
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message))
  })
}
