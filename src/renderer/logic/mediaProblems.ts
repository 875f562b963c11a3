import { phrase, type Phrase } from '../i18n/phrase'

/**
 * A problem of the renderer's own media (a camera that will not open, a decoder that refused a frame) in
 * words: `phrase` for the notice in the language in force, `sentence` the same in English for the log and
 * diagnostics (mediaProblems.test.ts keeps the English catalogue equal to it). `error` is the browser's
 * technical message, shown as it came.
 */
export interface MediaProblem {
  sentence: string
  phrase: Phrase
}

export type CaptureKind = 'audio' | 'video'

const DEVICE: Record<CaptureKind, string> = { video: 'camera', audio: 'microphone' }

const ENGLISH = {
  captureDenied: (v: Values) => `Pinhole may not use the ${v.device}: allow it in the system settings.`,
  captureMissing: (v: Values) => `No ${v.device} was found: connect one, or join with it off.`,
  captureBusy: (v: Values) => `The ${v.device} is busy: close the other app that uses it.`,
  captureFailed: (v: Values) => `The ${v.device} could not start (${v.error}).`,
  playbackFailed: (v: Values) => `Audio playback could not start: ${v.error}`,
  audioRefused: (v: Values) => `A remote microphone's audio was refused by the decoder: ${v.error}`,
  audioUndecodable: (v: Values) => `A remote microphone could not be decoded: ${v.error}`,
  audioEncoderStopped: (v: Values) => `The audio encoder stopped: ${v.error}`,
  videoEncoderStopped: (v: Values) => `The video encoder stopped: ${v.error}`,
  screenEncoderStopped: (v: Values) => `The screen-share encoder stopped: ${v.error}`,
  videoRefused: (v: Values) => `A remote video frame was refused by the decoder: ${v.error}`,
  videoUndecodable: (v: Values) =>
    `A remote video could not be decoded: ${v.error}. Waiting for the next key frame.`,
  devicesFailed: (v: Values) => `The chosen devices could not be used: ${v.error}`,
} satisfies Record<string, (v: Values) => string>

export type MediaProblemKey = keyof typeof ENGLISH
export const MEDIA_PROBLEM_KEYS = Object.keys(ENGLISH) as MediaProblemKey[]

interface Values {
  device: string
  error: string
}

/** A problem; `kind` names the device for the capture problems. */
export function mediaProblem(
  key: MediaProblemKey,
  detail: { kind?: CaptureKind; error?: unknown } = {},
): MediaProblem {
  const error = errorText(detail.error)
  const kind = detail.kind ?? 'video'
  const sentence = ENGLISH[key]({ device: DEVICE[kind], error })
  return {
    sentence,
    phrase: phrase(`media:problem.${key}`, { device: phrase(`media:device.${kind}`), error }),
  }
}

/** A capture that failed, by the DOMException's name (getUserMedia's documented failures). */
export function captureProblem(kind: CaptureKind, error: unknown): MediaProblem {
  const name = error instanceof DOMException ? error.name : String(error)
  if (name === 'NotAllowedError') return mediaProblem('captureDenied', { kind })
  if (name === 'NotFoundError') return mediaProblem('captureMissing', { kind })
  if (name === 'NotReadableError') return mediaProblem('captureBusy', { kind })
  return mediaProblem('captureFailed', { kind, error: name })
}

function errorText(error: unknown): string {
  if (error === undefined) return ''
  if (error instanceof Error || error instanceof DOMException) return error.message || error.name
  return String(error)
}
