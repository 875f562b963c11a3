/**
 * Small helpers for the Node processes (server command, CLI, browser host, proxy workers): the signals that
 * ask a process to stop, and an error's message for one-line reports.
 */

/** Where stop signals come from: `process`, or an emitter in tests. */
export type SignalSource = Pick<NodeJS.EventEmitter, 'on' | 'off'>

/** What a service manager (SIGTERM) or a terminal (Ctrl-C, SIGINT) sends to stop a process. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const satisfies readonly NodeJS.Signals[]

/** Calls `handler` on every SIGTERM and SIGINT until the returned function unsubscribes it. */
export function onStopSignals(signals: SignalSource, handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of STOP_SIGNALS) signals.on(signal, handler)
  return () => {
    for (const signal of STOP_SIGNALS) signals.off(signal, handler)
  }
}

/** An error's message, or the thrown value as text when it is not an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
