import type { Logger } from 'pino'
import type { SignalSource } from '../platform/process'
import type { ParentLink } from './sfuWorkers'

/**
 * First SIGTERM/SIGINT: run `drain`, resolve 0 (1 if it fails). Second: exit at once. A worker's parent
 * asking for a drain (or going away) is a first signal, never a second: systemd signals the whole unit too.
 */
export function waitForSignals(
  io: { signals: SignalSource; exit: (code: number) => void },
  logger: Logger,
  parent: ParentLink | undefined,
  drain: () => Promise<void>,
): Promise<number> {
  return new Promise((resolve) => {
    let draining = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (draining) {
        logger.warn({ signal }, 'second signal: exiting without waiting for the drain')
        logger.flush()
        io.exit(1)
        return
      }
      draining = true
      logger.info({ signal }, 'draining; send the signal again to exit at once')
      drain().then(
        () => {
          logger.info('stopped')
          finish(0)
        },
        (err: unknown) => {
          logger.error({ err }, 'drain failed')
          finish(1)
        },
      )
    }
    const onParentDrain = (): void => {
      if (!draining) onSignal('SIGTERM')
    }
    const finish = (code: number): void => {
      io.signals.off('SIGTERM', onSignal)
      io.signals.off('SIGINT', onSignal)
      parent?.requests.off('drain', onParentDrain)
      logger.flush()
      resolve(code)
    }
    io.signals.on('SIGTERM', onSignal)
    io.signals.on('SIGINT', onSignal)
    parent?.requests.on('drain', onParentDrain)
  })
}
