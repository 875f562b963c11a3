import type { InvokeArgs, InvokeChannel, InvokeResult } from '../shared/ipc'
import type { AppStore, ShareProblem } from './state/types'

/** The media side of a share (media/mediaEngine.ts); part of the controller's MediaControl. */
export interface ShareMedia {
  /** Asks for a screen or window and encodes it; `onEnded` when the source goes away by itself. */
  startShare(onEnded: () => void): Promise<ShareProblem | null>
  stopShare(): void
  requestKeyFrame(track?: 'camera' | 'screen'): void
}

export interface ShareFlowDeps {
  store: AppStore
  media: ShareMedia
  /** The controller's bridge calls: a refusal becomes a notice and null. */
  invoke<C extends InvokeChannel>(name: C, ...args: InvokeArgs<C>): Promise<InvokeResult<C> | null>
  invokeCode<C extends InvokeChannel>(name: C, ...args: InvokeArgs<C>): Promise<number | null>
}

/**
 * Share screen / Stop sharing (docs/media.md "Screen sharing"). Electron lists sources for the app's own
 * picker (`listShareSources`), and main answers the page's getDisplayMedia with the one chosen
 * (`chooseShareSource`); the browser host lists none and the browser's picker is used. Once capture runs,
 * `startScreenCapture` publishes the engine's screen track and a key frame opens it.
 */
export class ShareFlow {
  constructor(private readonly deps: ShareFlowDeps) {}

  private get s() {
    return this.deps.store.getState()
  }

  async toggle(): Promise<void> {
    if (this.s.sharing) return this.stop()
    if (this.s.sharePicker) return
    const sources = await this.deps.invoke('listShareSources')
    if (sources === null) return
    if (sources.length > 0) this.s.openSharePicker(sources)
    else await this.begin()
  }

  /** The app's picker closed: with a source (share it) or without (nothing happens). */
  async choose(id: string | null): Promise<void> {
    this.s.closeSharePicker()
    const chosen = await this.deps.invoke('chooseShareSource', id)
    if (id !== null && chosen === 0) await this.begin()
  }

  async stop(): Promise<void> {
    if (!this.s.sharing) return
    this.deps.media.stopShare()
    this.s.setSharing(false)
    await this.deps.invokeCode('stopScreenCapture')
  }

  /** The call ended (left, failed): the media side has stopped everything already. */
  reset(): void {
    this.s.setSharing(false)
    this.s.closeSharePicker()
  }

  private async begin(): Promise<void> {
    const problem = await this.deps.media.startShare(() => void this.ended())
    if (problem) {
      this.s.setShareProblem(problem)
      return
    }
    this.s.setSharing(true)
    const code = await this.deps.invokeCode('startScreenCapture')
    if (code !== 0) {
      this.deps.media.stopShare()
      this.s.setSharing(false)
      return
    }
    // Frames encoded before the engine published the track were dropped: open it with a key frame.
    this.deps.media.requestKeyFrame('screen')
  }

  /** The source closed or the browser's own "Stop sharing" was used: the media side has stopped. */
  private async ended(): Promise<void> {
    if (!this.s.sharing) return
    this.s.setSharing(false)
    await this.deps.invokeCode('stopScreenCapture')
  }
}
