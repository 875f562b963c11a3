import { createHash } from 'node:crypto'
import {
  CONNECTION_REASON_NAMES,
  CONNECTION_STATE_NAMES,
  type ConnectionReason,
  type ConnectionState,
  type EngineEventName,
  type EngineEvents,
} from '../shared/engine'

/**
 * `pinhole join` prints every engine event as one JSON line: `{"event","args","t"}` (docs/cli.md). Binary
 * payloads (remote frames) become `{bytes, sha256}`: a line per frame stays short and the content can still
 * be checked against what the sender sent.
 */

export { ENGINE_EVENT_NAMES } from '../shared/engineEventNames'

export interface EventLine {
  event: EngineEventName
  args: unknown[]
  /** Milliseconds since the command started, 0.1 ms resolution. */
  t: number
  /** connectionStateChanged: the state and reason by name. */
  names?: [state: string, reason: string]
  /** Set when the CLI, not the engine, produced the line (e.g. joinChannel resolving 414, which emits nothing). */
  from?: 'joinChannel' | 'setCloudProxy' | 'setRegion'
}

export function eventLine<K extends EngineEventName>(
  event: K,
  args: EngineEvents[K],
  t: number,
  from?: EventLine['from'],
): string {
  const line: EventLine = { event, args: args.map(toJsonValue), t: Math.round(t * 10) / 10 }
  if (event === 'connectionStateChanged') {
    const [state, reason] = args as EngineEvents['connectionStateChanged']
    line.names = [stateName(state), reasonName(reason)]
  }
  if (from) line.from = from
  return `${JSON.stringify(line)}\n`
}

function stateName(state: ConnectionState): string {
  return CONNECTION_STATE_NAMES[state] ?? String(state)
}

function reasonName(reason: ConnectionReason): string {
  return CONNECTION_REASON_NAMES[reason] ?? String(reason)
}

/** Bytes → `{bytes, sha256}`; errors → `{name, message}`; bigints → strings; the rest as JSON has it. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return { bytes: value.byteLength, sha256: createHash('sha256').update(value).digest('hex') }
  }
  if (value instanceof Error) return { name: value.name, message: value.message }
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toJsonValue(inner)]))
  }
  return value
}
