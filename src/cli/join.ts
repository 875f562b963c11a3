import { readFileSync } from 'node:fs'
import { pino, type Logger } from 'pino'
import { ConnectionReason, ConnectionState, type EngineEventName, type EngineEvents } from '../shared/engine'
import { ErrorCode, errorMessage, isErrorCode } from '../shared/errors'
import { backoffPolicy, createEngine, type CreateEngineOptions, type Engine } from '../engine'
import { mintJoinToken } from '../protocol/auth/joinToken'
import { createLogger } from '../platform/logger'
import { parseJoinArgs, UsageError, type JoinArgs } from './args'
import { ENGINE_EVENT_NAMES, eventLine } from './eventLines'
import { ExitCode, type CliIo } from './io'
import { playTrack, readIvf, readOggOpus, ReceivedMedia, type MediaPlayer, type MediaTrack } from './media'

/**
 * `pinhole join`: one engine, one join, every engine event printed as a JSON line on stdout; leaves on
 * SIGINT/SIGTERM or at the end of `--duration`. Codes against createEngine's public API only.
 */

export const JOIN_USAGE = `Usage: pinhole join --channel NAME --uid N (--token JWT | --app-key KEY --app-secret SECRET)
                   (--regions FILE [--region ID|auto] | --proxy HOST [options]) [--proxy-mode MODE]
                   [--duration SECONDS] [--send-video FILE.ivf] [--send-audio FILE.ogg] [--http-proxy URL]

Joins a channel through the cloud proxy and prints every engine event as one JSON line on stdout:
  {"event":"connectionStateChanged","args":[2,5],"t":0.4,"names":["Connecting","joinChannel"]}
Binary payloads (remote frames) are printed as {"bytes":N,"sha256":"…"}.

Join:
  --channel NAME          channel name (A–Z a–z 0–9 _ . ~ -, 1–64 characters)
  --uid N                 user id; 0 is refused (error 414) whenever a proxy is enabled
  --display-name TEXT     the name the others see (1–64 characters; error 414 otherwise)
  --token JWT             join token, or
  --app-key KEY --app-secret SECRET   mint one locally (HS256, ${'1 h'})
  --proxy-mode MODE       none|udp|tcp|auto or 0–3 (NERTC setCloudProxy); default auto
  --signal-url URL        conference server signaling (ws:// or wss://) for mode none and Auto's direct try
  --duration SECONDS      leave this long after joining; default: stay until SIGINT/SIGTERM
  --reconnect-budget-ms MS  give up reconnecting (Failed, timeout) after this long; default 60000
  --log-level LEVEL       engine log (JSON lines) on stderr: silent (default), error, warn, info, debug
  --send-video FILE.ivf   once Connected, send this VP8 IVF file at its timestamps, looped
  --send-audio FILE.ogg   once Connected, send this Ogg Opus file at its timestamps, looped
  --http-proxy URL        http://[user:password@]host:port — the session, signaling and TURN over TLS go
                          through this corporate HTTP CONNECT proxy (use with --proxy-mode tcp)

At leave, one summary line of the remote frames received per uid:
  {"event":"summary","received":{"7":{"video":{"frames":N,"keyframes":K,"bytes":B},"audio":{…}}}}

Regions (as for doctor):
  --regions FILE          JSON list of regions; --region ID or auto (default: auto, the lowest RTT)
  --proxy HOST            or one region by flags: --udp-ports A,B --tcp-port N
                          (--fingerprint AB:CD:… | --ca FILE) --name TEXT [--region ID]

Exit codes: 0 joined and left on request; 1 the join failed or the call ended (Failed, kicked, closed);
2 usage error; 130 a second signal while leaving.
`

/** Test seams. */
export interface JoinOptions {
  /** Merged into the engine's options (e.g. a `connectCall`, shorter budgets). */
  engineOptions?: Partial<CreateEngineOptions>
  /** Reads a `--send-*` file; default readFileSync. */
  readBinaryFile?: (path: string) => Buffer
}

/** How the wait in the channel ended. */
type Ending = 'requested' | 'duration' | 'failed' | 'disconnected'

type Print = <K extends EngineEventName>(event: K, eventArgs: EngineEvents[K], from?: 'joinChannel') => void

/** The files to send once Connected, read and parsed before anything starts. */
interface SendMedia {
  video: MediaTrack | undefined
  audio: MediaTrack | undefined
}

/** What the event listeners, the signal handler and the join share while the command runs. */
interface JoinRun {
  joined: boolean
  stopRequested: boolean
  /** `error` events the engine emitted, so the CLI does not print a failed join twice. */
  engineErrors: number
  onEnded: ((ending: Ending) => void) | undefined
  /** A leave the first signal started before the join finished. */
  leaving: Promise<number> | undefined
  players: MediaPlayer[]
  videoPlayer: MediaPlayer | undefined
}

export async function joinCommand(
  argv: readonly string[],
  io: CliIo,
  options: JoinOptions = {},
): Promise<ExitCode> {
  const args = parseJoinArgs(argv, io.readFile)
  if (args.help) {
    io.stdout(JOIN_USAGE)
    return ExitCode.Ok
  }
  const media = loadSendMedia(args, options.readBinaryFile ?? ((path: string) => readFileSync(path)))
  const started = io.now()
  const print: Print = (event, eventArgs, from) =>
    io.stdout(eventLine(event, eventArgs, io.now() - started, from))
  const engine = engineFor(args, options.engineOptions)
  const run: JoinRun = {
    joined: false,
    stopRequested: false,
    engineErrors: 0,
    onEnded: undefined,
    leaving: undefined,
    players: [],
    videoPlayer: undefined,
  }
  const received = listen(engine, run, print)
  const onSignal = signalHandler(engine, run, io)
  io.signals.on('SIGINT', onSignal)
  io.signals.on('SIGTERM', onSignal)
  try {
    return await joinAndStay(engine, args, media, run, print)
  } finally {
    io.signals.off('SIGINT', onSignal)
    io.signals.off('SIGTERM', onSignal)
    for (const player of run.players) player.stop()
    // A leave the signal started is printed in full before release drops the listeners.
    await run.leaving
    await engine.release()
    // The last line: what arrived from each remote user.
    if (run.joined) io.stdout(`${JSON.stringify({ event: 'summary', received: received.summary() })}\n`)
  }
}

function loadSendMedia(args: JoinArgs, readBinary: (path: string) => Buffer): SendMedia {
  return {
    video:
      args.sendVideo === undefined
        ? undefined
        : loadTrack(args.sendVideo, '--send-video', readBinary, readIvf),
    audio:
      args.sendAudio === undefined
        ? undefined
        : loadTrack(args.sendAudio, '--send-audio', readBinary, readOggOpus),
  }
}

function engineFor(args: JoinArgs, engineOptions: Partial<CreateEngineOptions> | undefined): Engine {
  return createEngine({
    regions: args.regions,
    ...(args.appKey === undefined ? {} : { appKey: args.appKey }),
    ...(args.logLevel === 'silent' ? {} : { logger: stderrLogger(args) }),
    ...(args.signalUrl === undefined ? {} : { direct: { signalUrl: args.signalUrl } }),
    ...(args.httpProxy === undefined ? {} : { httpProxy: args.httpProxy }),
    ...(args.reconnectBudgetMs === undefined
      ? {}
      : { call: { reconnect: backoffPolicy({ budgetMs: args.reconnectBudgetMs }) } }),
    ...engineOptions,
  })
}

/** Prints every event as it comes, counts the remote media, and ends the wait when the call fails. */
function listen(engine: Engine, run: JoinRun, print: Print): ReceivedMedia {
  // Every event, as it comes; an `error` the engine emitted is not printed again by the CLI.
  for (const name of ENGINE_EVENT_NAMES) {
    engine.on(name, (...eventArgs: EngineEvents[typeof name]) => print(name, eventArgs))
  }
  engine.on('error', () => void run.engineErrors++)
  const received = new ReceivedMedia()
  engine.on('remoteVideoFrame', (frame) => received.add('video', frame))
  engine.on('remoteAudioFrame', (frame) => received.add('audio', frame))
  engine.on('keyFrameRequested', () => void run.videoPlayer?.requestKeyframe())
  engine.on('connectionStateChanged', (state, reason) => {
    if (!run.joined) return
    if (state === ConnectionState.Failed) run.onEnded?.('failed')
    else if (state === ConnectionState.Disconnected && reason !== ConnectionReason.LeaveChannel)
      run.onEnded?.('disconnected')
  })
  return received
}

/** First signal: leave (also cancels a join under way). Second: exit at once. */
function signalHandler(engine: Engine, run: JoinRun, io: CliIo): () => void {
  return () => {
    if (run.stopRequested) return io.exit(ExitCode.Interrupted)
    run.stopRequested = true
    if (run.joined) run.onEnded?.('requested')
    else run.leaving = engine.leaveChannel()
  }
}

async function joinAndStay(
  engine: Engine,
  args: JoinArgs,
  media: SendMedia,
  run: JoinRun,
  print: Print,
): Promise<ExitCode> {
  engine.setCloudProxy(args.mode)
  engine.setRegion(args.region) // the arguments named a configured region or auto
  const token = await tokenFor(args)
  if (run.stopRequested) return ExitCode.Failed
  const errorsBefore = run.engineErrors
  const { displayName } = args
  const result = await engine.joinChannel(
    token,
    args.channel,
    args.uid,
    displayName === undefined ? {} : { displayName },
  )
  if (result !== ErrorCode.Ok) {
    // 414 (and InvalidState) resolve without any event: the CLI says what happened.
    if (run.engineErrors === errorsBefore) print('error', [errorInfo(result)], 'joinChannel')
    return ExitCode.Failed
  }
  run.joined = true
  startSending(engine, media, run)
  const ending = await waitForEnding(run, args.durationSeconds)
  if (ending === 'requested' || ending === 'duration') {
    await engine.leaveChannel()
    return ExitCode.Ok
  }
  return ExitCode.Failed
}

function startSending(engine: Engine, { video, audio }: SendMedia, run: JoinRun): void {
  if (video) {
    engine.enableLocalVideo(true)
    const push = (frame: MediaTrack['frames'][number]): void =>
      void engine.pushVideoFrame({
        data: frame.data,
        timestamp: frame.timestampUs,
        keyframe: frame.keyframe,
      })
    run.videoPlayer = playTrack(video, push)
    run.players.push(run.videoPlayer)
  }
  if (audio) {
    engine.enableLocalAudio(true)
    const push = (frame: MediaTrack['frames'][number]): void =>
      void engine.pushAudioFrame({ data: frame.data, timestamp: frame.timestampUs })
    run.players.push(playTrack(audio, push))
  }
}

/** Resolves on the first of: a signal, the end of `--duration`, the call failing or dropping. */
function waitForEnding(run: JoinRun, durationSeconds: number | undefined): Promise<Ending> {
  return new Promise<Ending>((resolve) => {
    run.onEnded = resolve
    if (run.stopRequested) resolve('requested')
    if (durationSeconds !== undefined) {
      const timer = setTimeout(() => resolve('duration'), durationSeconds * 1000)
      run.onEnded = (why) => {
        clearTimeout(timer)
        resolve(why)
      }
    }
  })
}

function loadTrack(
  path: string,
  flag: string,
  readBinary: (path: string) => Buffer,
  parse: (buf: Buffer) => MediaTrack,
): MediaTrack {
  let buf: Buffer
  try {
    buf = readBinary(path)
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : String(err)
    throw new UsageError(`${flag} ${path}: cannot read (${code})`)
  }
  try {
    return parse(buf)
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${err instanceof Error ? err.message : String(err)}`)
  }
}

async function tokenFor(args: JoinArgs): Promise<string> {
  if ('token' in args.auth) return args.auth.token
  const { appKey, appSecret: secret, ttlSeconds } = args.auth
  return mintJoinToken({ appKey, secret, channel: args.channel, uid: args.uid, ttlSeconds })
}

function errorInfo(code: number): EngineEvents['error'][0] {
  if (isErrorCode(code)) return { code, message: errorMessage(code) }
  return { code: ErrorCode.Internal, message: errorMessage(ErrorCode.Internal), detail: `result ${code}` }
}

/** The engine's log as JSON lines on stderr, so stdout stays events only. */
function stderrLogger(args: JoinArgs): Logger {
  return createLogger(args.logLevel, { service: 'pinhole-join' }, pino.destination({ dest: 2, sync: true }))
}
