import type { Engine } from '../../src/engine'
import { ConnectionState } from '../../src/shared/engine'

/** What one timed join measured, ms from `joinChannel`: Connected, and the publisher's first video frame. */
export interface TimedJoin {
  connectedMs: number
  firstFrameMs?: number
}

/**
 * Joins with an engine already set up (region, mode), times Connected and the first video frame of
 * `publisherUid` (waiting up to `frameTimeoutMs` for it), then releases the engine. Shared by the loopback
 * bench (bench/join.ts) and the lab's desktop agent (labAgent.ts), so both time a join the same way.
 */
export async function timedJoin(
  engine: Engine,
  join: { token: string; channel: string; uid: number; publisherUid: number; frameTimeoutMs: number },
  what: string,
): Promise<TimedJoin> {
  let connectedMs: number | undefined
  let firstFrameMs: number | undefined
  let frameSeen: () => void = () => undefined
  const frame = new Promise<void>((resolve) => (frameSeen = resolve))
  const started = performance.now()
  engine.on('connectionStateChanged', (state) => {
    if (state === ConnectionState.Connected && connectedMs === undefined)
      connectedMs = performance.now() - started
  })
  engine.on('remoteVideoFrame', (remote) => {
    if (remote.uid !== join.publisherUid || firstFrameMs !== undefined) return
    firstFrameMs = performance.now() - started
    frameSeen()
  })
  try {
    const code = await engine.joinChannel(join.token, join.channel, join.uid)
    if (code !== 0 || connectedMs === undefined) throw new Error(`join (${what}): ${code}`)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([frame, new Promise((resolve) => (timer = setTimeout(resolve, join.frameTimeoutMs)))])
    clearTimeout(timer)
    return firstFrameMs === undefined ? { connectedMs } : { connectedMs, firstFrameMs }
  } finally {
    await engine.release()
  }
}
