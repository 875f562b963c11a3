import { z } from 'zod'

/**
 * A screen or window the user can share, as the app's own picker shows it (Electron: desktopCapturer's
 * sources, docs/media.md "Screen sharing"). The browser host lists none: the browser's picker is used.
 */
export interface ShareSource {
  /** desktopCapturer's id (`screen:0:0`, `window:1234:0`): what `chooseShareSource` takes back. */
  id: string
  name: string
  kind: 'screen' | 'window'
  /** A PNG of the source (a data: URL, which the CSP's img-src allows). */
  thumbnailDataUrl: string
}

/** `chooseShareSource`'s argument: one listed id, or null (the picker was closed without a choice). */
export const ShareSourceIdSchema = z.string().min(1).max(256).nullable()
