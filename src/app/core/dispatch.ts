import { EngineError, ErrorCode } from '../../shared/errors'
import {
  IpcArgumentError,
  isInvokeChannel,
  parseInvokeArgs,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
  type IpcReply,
} from '../../shared/ipc'

/**
 * One implementation per contract channel, and the one place raw arguments from a page are validated and
 * failures turned into data (`IpcReply`): the Electron handlers and the browser host both go through
 * `dispatch`, so both hosts answer the same call the same way.
 */
export type Implementations = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>
}

export type Invoker = (name: InvokeChannel, raw: readonly unknown[]) => Promise<IpcReply<unknown>>

export function failure(error: unknown): IpcReply<never> {
  if (error instanceof IpcArgumentError || error instanceof EngineError)
    return { ok: false, error: error.toInfo() }
  // A programmer bug: report it as Internal rather than crash the host.
  const detail = error instanceof Error ? error.message : String(error)
  return { ok: false, error: new EngineError(ErrorCode.Internal, detail, { cause: error }).toInfo() }
}

export async function dispatch<C extends InvokeChannel>(
  impl: Implementations,
  name: C,
  raw: readonly unknown[],
): Promise<IpcReply<InvokeResult<C>>> {
  try {
    const args = parseInvokeArgs(name, raw)
    const run = impl[name] as (...args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>
    return { ok: true, value: await run(...args) }
  } catch (error) {
    return failure(error)
  }
}

/** For hosts that receive the channel name from the page too (the browser host): unknown names are 414. */
export function invokeUnchecked(invoke: Invoker, name: unknown, raw: unknown): Promise<IpcReply<unknown>> {
  if (!isInvokeChannel(name)) {
    const info = new EngineError(ErrorCode.RequestParameter, `unknown channel ${String(name)}`).toInfo()
    return Promise.resolve({ ok: false, error: info })
  }
  if (!Array.isArray(raw)) {
    return Promise.resolve(failure(new IpcArgumentError(name, 'arguments must be an array')))
  }
  return invoke(name, raw)
}
