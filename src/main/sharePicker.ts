import { EngineError, ErrorCode } from '../shared/errors'
import type { ShareSource } from '../shared/shareSources'

/**
 * Screen sharing in Electron (docs/media.md "Screen sharing"): Electron has no picker of its own, so the
 * app draws one (the renderer's SharePicker dialog) from `desktopCapturer.getSources`, and the session's
 * display-media handler answers the page's getDisplayMedia with the source chosen there. One picker per
 * window; the page cannot name a source it was not offered.
 */

/** The part of a DesktopCapturerSource used here (tests pass stand-ins). */
export interface CapturerSource {
  id: string
  name: string
  thumbnail: { toDataURL(): string }
}

/** `desktopCapturer`, or a stand-in. */
export interface CapturerLike {
  getSources(options: {
    types: ('screen' | 'window')[]
    thumbnailSize: { width: number; height: number }
    fetchWindowIcons: boolean
  }): Promise<CapturerSource[]>
}

/** Thumbnails as the picker shows them (16:9; Electron keeps each source's aspect inside this box). */
export const THUMBNAIL_SIZE = { width: 320, height: 180 }

/** A screen's id is `screen:<n>:<m>`, a window's `window:<handle>:<m>`. */
const kindOf = (id: string): ShareSource['kind'] => (id.startsWith('screen:') ? 'screen' : 'window')

/** One window's picker: what it listed, and the source chosen for its next getDisplayMedia. */
export class SharePicker {
  private listed = new Map<string, CapturerSource>()
  private chosen: CapturerSource | null = null

  constructor(private readonly capturer: CapturerLike) {}

  async list(): Promise<ShareSource[]> {
    const sources = await this.capturer.getSources({
      types: ['screen', 'window'],
      thumbnailSize: THUMBNAIL_SIZE,
      fetchWindowIcons: false,
    })
    this.listed = new Map(sources.map((source) => [source.id, source]))
    this.chosen = null
    return sources.map((source) => ({
      id: source.id,
      name: source.name,
      kind: kindOf(source.id),
      thumbnailDataUrl: source.thumbnail.toDataURL(),
    }))
  }

  choose(id: string | null): number {
    if (id === null) {
      this.chosen = null
      return 0
    }
    const source = this.listed.get(id)
    if (!source) throw new EngineError(ErrorCode.RequestParameter, `${id} is not a listed share source`)
    this.chosen = source
    return 0
  }

  /** The chosen source, once: each getDisplayMedia needs its own choice. */
  take(): CapturerSource | null {
    const source = this.chosen
    this.chosen = null
    return source
  }
}

/** What Electron passes to the handler, in the part used here. */
export interface DisplayMediaRequestLike {
  frame: unknown
  videoRequested: boolean
}

/** The callback's argument: the source to capture, or none (getDisplayMedia then rejects, NotAllowedError). */
export type DisplayMediaAnswer = { video: { id: string; name: string } } | Record<string, never>

/**
 * `session.setDisplayMediaRequestHandler`: answers with the source the requesting window's picker chose;
 * with none (no choice was made, or another frame asks), refuses. Never audio: the share is video only.
 */
export function displayMediaHandler(
  pickerFor: (frame: unknown) => SharePicker | undefined,
): (request: DisplayMediaRequestLike, callback: (answer: DisplayMediaAnswer) => void) => void {
  return (request, callback) => {
    const source = request.videoRequested ? (pickerFor(request.frame)?.take() ?? null) : null
    callback(source ? { video: { id: source.id, name: source.name } } : {})
  }
}
