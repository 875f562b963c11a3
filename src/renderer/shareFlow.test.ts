import { describe, expect, it, vi } from 'vitest'
import type { ShareSource } from '../shared/shareSources'
import { ShareFlow, type ShareMedia } from './shareFlow'
import { createAppStore } from './state/store'
import type { ShareProblem } from './state/types'

const SCREEN: ShareSource = {
  id: 'screen:0:0',
  name: 'Entire screen',
  kind: 'screen',
  thumbnailDataUrl: 'data:image/png;base64,AA==',
}

/** A flow whose host lists `sources` and answers every call with `codes[name] ?? 0`. */
function setup(
  sources: ShareSource[],
  problem: ShareProblem | null = null,
  codes: Record<string, number> = {},
) {
  const store = createAppStore()
  const calls: unknown[][] = []
  let ended: (() => void) | undefined
  const media = {
    startShare: vi.fn<ShareMedia['startShare']>(async (onEnded) => ((ended = onEnded), problem)),
    stopShare: vi.fn<ShareMedia['stopShare']>(),
    requestKeyFrame: vi.fn<ShareMedia['requestKeyFrame']>(),
  }
  const answer = (name: string, args: unknown[]): unknown => {
    calls.push([name, ...args])
    return name === 'listShareSources' ? sources : (codes[name] ?? 0)
  }
  const flow = new ShareFlow({
    store,
    media,
    invoke: async (name, ...args) => answer(name, args) as never,
    invokeCode: async (name, ...args) => answer(name, args) as number,
  })
  return { store, calls, media, flow, end: () => ended?.() }
}

describe('ShareFlow', () => {
  it('browser host (no sources listed): captures at once, publishes the screen track, asks a key frame', async () => {
    const t = setup([])
    await t.flow.toggle()
    expect(t.media.startShare).toHaveBeenCalledOnce()
    expect(t.calls).toEqual([['listShareSources'], ['startScreenCapture']])
    expect(t.media.requestKeyFrame).toHaveBeenCalledWith('screen')
    expect(t.store.getState().sharing).toBe(true)
    // Stop sharing from the app.
    await t.flow.toggle()
    expect(t.media.stopShare).toHaveBeenCalledOnce()
    expect(t.calls.at(-1)).toEqual(['stopScreenCapture'])
    expect(t.store.getState().sharing).toBe(false)
  })

  it("Electron: the app's picker opens; a choice is passed to the host before capture", async () => {
    const t = setup([SCREEN])
    await t.flow.toggle()
    expect(t.store.getState().sharePicker).toEqual([SCREEN])
    expect(t.media.startShare).not.toHaveBeenCalled()
    await t.flow.choose(SCREEN.id)
    expect(t.store.getState().sharePicker).toBeNull()
    expect(t.calls).toEqual([['listShareSources'], ['chooseShareSource', SCREEN.id], ['startScreenCapture']])
    expect(t.store.getState().sharing).toBe(true)
  })

  it('closing the picker without a choice shares nothing', async () => {
    const t = setup([SCREEN])
    await t.flow.toggle()
    await t.flow.choose(null)
    expect(t.calls).toEqual([['listShareSources'], ['chooseShareSource', null]])
    expect(t.media.startShare).not.toHaveBeenCalled()
    expect(t.store.getState().sharing).toBe(false)
  })

  it('the source ends by itself (window closed, the browser bar): the engine stops the track', async () => {
    const t = setup([])
    await t.flow.toggle()
    t.end()
    await vi.waitFor(() => expect(t.calls.at(-1)).toEqual(['stopScreenCapture']))
    expect(t.store.getState().sharing).toBe(false)
  })

  it('capture refused: the problem is shown and the engine is not asked', async () => {
    const t = setup([], 'notAllowed')
    await t.flow.toggle()
    expect(t.store.getState().shareProblem).toBe('notAllowed')
    expect(t.store.getState().sharing).toBe(false)
    expect(t.calls).toEqual([['listShareSources']])
  })

  it('the engine refuses the track (not in a call): capture stops again', async () => {
    const t = setup([], null, { startScreenCapture: 30005 })
    await t.flow.toggle()
    expect(t.media.stopShare).toHaveBeenCalledOnce()
    expect(t.store.getState().sharing).toBe(false)
  })

  it('reset (left or failed) clears the share and the picker', async () => {
    const t = setup([SCREEN])
    await t.flow.toggle()
    t.flow.reset()
    expect(t.store.getState().sharePicker).toBeNull()
    expect(t.store.getState().sharing).toBe(false)
  })
})
