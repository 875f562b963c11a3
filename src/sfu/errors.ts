import type { SignalErrorCode } from '../shared/codes'

/** Base error of the conference server: a code a caller can switch on, a message, an optional cause. */
export class SfuError extends Error {
  override readonly name = 'SfuError'

  constructor(
    readonly code: SfuErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  /** A call on an object that is already closed: closed objects reject calls (docs/lifecycle.md). */
  static closed(what: string): SfuError {
    return new SfuError('closed', `${what} is closed`)
  }

  static signal(code: SignalErrorCode, message: string, cause?: unknown): SfuError {
    return new SfuError(code, message, { cause })
  }
}

export type SfuErrorCode = 'closed' | 'config' | SignalErrorCode
