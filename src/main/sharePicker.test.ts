import { describe, expect, it, vi } from 'vitest'
import { EngineError, ErrorCode } from '../shared/errors'
import { displayMediaHandler, SharePicker, THUMBNAIL_SIZE, type CapturerLike } from './sharePicker'

/** desktopCapturer as Electron answers: a screen and a window, each with a thumbnail. */
function capturer(): CapturerLike & { getSources: ReturnType<typeof vi.fn> } {
  const source = (id: string, name: string) => ({
    id,
    name,
    thumbnail: { toDataURL: () => `data:image/png;base64,${Buffer.from(name).toString('base64')}` },
  })
  return {
    getSources: vi.fn(async () => [source('screen:0:0', 'Entire screen'), source('window:42:0', 'Slides')]),
  }
}

describe('SharePicker (Electron screen-share sources)', () => {
  it('lists screens and windows with thumbnails, asking desktopCapturer for both kinds', async () => {
    const c = capturer()
    const picker = new SharePicker(c)
    expect(await picker.list()).toEqual([
      {
        id: 'screen:0:0',
        name: 'Entire screen',
        kind: 'screen',
        thumbnailDataUrl: expect.stringMatching(/^data:image\/png/),
      },
      {
        id: 'window:42:0',
        name: 'Slides',
        kind: 'window',
        thumbnailDataUrl: expect.stringMatching(/^data:image\/png/),
      },
    ])
    expect(c.getSources).toHaveBeenCalledWith({
      types: ['screen', 'window'],
      thumbnailSize: THUMBNAIL_SIZE,
      fetchWindowIcons: false,
    })
  })

  it('the display-media handler answers with the chosen source, once', async () => {
    const picker = new SharePicker(capturer())
    await picker.list()
    expect(picker.choose('window:42:0')).toBe(0)
    const handler = displayMediaHandler(() => picker)
    const answers: unknown[] = []
    handler({ frame: {}, videoRequested: true }, (answer) => answers.push(answer))
    // A second getDisplayMedia without a new choice is refused.
    handler({ frame: {}, videoRequested: true }, (answer) => answers.push(answer))
    expect(answers).toEqual([{ video: { id: 'window:42:0', name: 'Slides' } }, {}])
  })

  it('refuses an id it did not list (the page cannot name any window), and a closed picker', async () => {
    const picker = new SharePicker(capturer())
    await picker.list()
    let refused: unknown
    try {
      picker.choose('window:666:0')
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(EngineError)
    expect((refused as EngineError).code).toBe(ErrorCode.RequestParameter)
    picker.choose('screen:0:0')
    expect(picker.choose(null)).toBe(0)
    const answers: unknown[] = []
    displayMediaHandler(() => picker)({ frame: {}, videoRequested: true }, (a) => answers.push(a))
    expect(answers).toEqual([{}])
  })

  it('a frame of no window of ours, or a request without video, gets nothing', async () => {
    const picker = new SharePicker(capturer())
    await picker.list()
    picker.choose('screen:0:0')
    const answers: unknown[] = []
    displayMediaHandler(() => undefined)({ frame: null, videoRequested: true }, (a) => answers.push(a))
    displayMediaHandler(() => picker)({ frame: {}, videoRequested: false }, (a) => answers.push(a))
    expect(answers).toEqual([{}, {}])
  })
})
