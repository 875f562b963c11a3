/**
 * The lab join bench's agent (bench/join/lab.ts), one per namespace: in `srv` it publishes test video
 * straight to the conference server (so the first frame a joiner sees is bounded by the joiner's link, not
 * a second desktop's); in `lan` it runs one join per `join` request — a fresh engine each time, released
 * afterwards; cold, or warm (`prepareJoin` first, untimed) — and answers with the times to Connected, to
 * the publisher's first video frame, and the engine's join timeline. Protocol: e2e/lab/agents/protocol.ts; stdin closing ends it.
 */
import { createEngine, type Engine, type JoinStep } from '../../src/engine'
import { TransportType } from '../../src/shared/engine'
import { videoFrame, VIDEO_FRAME_US } from '../../e2e/engine/frames'
import { emit, serveRpc } from '../../e2e/lab/agents/rpc'
import type { BenchAgentOps, JoinArgs, JoinFigures, PublishArgs } from './protocol'
import { timedJoin } from './timedJoin'

let publisher: { engine: Engine; timer: NodeJS.Timeout } | undefined

async function publish(args: PublishArgs): Promise<Record<string, never>> {
  // A STUN server that never answers on srv's own discard port: werift's 0.5 s gathering wait, nothing else.
  const host = new URL(args.signalUrl).hostname
  const engine = createEngine({
    regions: [],
    direct: { signalUrl: args.signalUrl, iceServers: [{ urls: `stun:${host}:9` }] },
  })
  engine.setCloudProxy(TransportType.None)
  engine.enableLocalAudio(false)
  engine.enableLocalVideo(true)
  let wantKey = true
  engine.on('keyFrameRequested', () => (wantKey = true))
  const code = await engine.joinChannel(args.token, args.channel, args.uid)
  if (code !== 0) throw new Error(`publisher join: ${code}`)
  let index = 0
  const timer = setInterval(() => {
    const keyframe = wantKey || index % 60 === 0
    wantKey = false
    engine.pushVideoFrame({
      data: videoFrame(args.uid, index, keyframe),
      timestamp: index * VIDEO_FRAME_US,
      keyframe,
    })
    index++
  }, 33)
  publisher = { engine, timer }
  return {}
}

async function join(args: JoinArgs): Promise<JoinFigures> {
  const steps: [JoinStep, number][] = []
  const engine = createEngine({
    regions: [args.region],
    joinTimeline: (step, ms) => steps.push([step, Math.round(ms)]),
  })
  engine.setRegion(args.region.id)
  engine.setCloudProxy(args.mode)
  engine.enableLocalAudio(false)
  // The app prepares when its join form shows; the join is timed from joinChannel on, as a cold one.
  if (args.warm) {
    const prepared = await engine.prepareJoin(args.token, args.channel, args.uid)
    if (prepared !== 0) throw new Error(`prepareJoin: ${prepared}`)
    // The form stays open a while before Join is pressed: what the engine keeps beside the session (the
    // signaling connection, the probe allocations: step K) is ready by then.
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  const figures = await timedJoin(engine, args, `mode ${args.mode}${args.warm ? ', warm' : ''}`)
  return {
    connectedMs: Math.round(figures.connectedMs),
    ...(figures.firstFrameMs === undefined ? {} : { firstFrameMs: Math.round(figures.firstFrameMs) }),
    steps,
  }
}

serveRpc<BenchAgentOps>({ publish, join }, async () => {
  if (!publisher) return
  clearInterval(publisher.timer)
  await publisher.engine.release()
})
emit('ready')
