import { expect, it } from 'vitest'
import { KEY_FRAME_REQUEST_INTERVAL_MS, KeyFrameRequests } from './keyFrameRequests'

it('one key-frame request per interval, however many undecodable frames arrive', () => {
  const requests = new KeyFrameRequests()
  const granted = [0, 33, 66, 499, 500, 533, 999, 1000, 2500].filter((t) => requests.take(t))
  expect(granted).toEqual([0, 500, 1000, 2500])
  expect(KEY_FRAME_REQUEST_INTERVAL_MS).toBe(500)
})
