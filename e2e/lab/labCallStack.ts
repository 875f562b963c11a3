import { afterAll, beforeAll } from 'vitest'
import { createLab, type Lab } from './lab'
import { startLabConference, type LabConference } from './labConference'
import { labRegionFlags, makeLabMedia, type LabMedia } from './labJoin'
import { startLabProxy, type LabProxy } from './labProxy'

/** What the call suites of the lab share: the lab, the conference server in srv, the proxy in dmz. */
export interface LabCallStack {
  readonly lab: Lab
  readonly conference: LabConference
  readonly proxy: LabProxy
  /** Generated test files every client sends, with the hashes to recognise them on the other side. */
  readonly media: LabMedia
  /** `pinhole` flags naming the lab's region (proxy address, ports, pinned CA). */
  readonly region: string[]
}

/**
 * Registers (in the calling describe) the hooks that build the call stack before its tests and tear it down
 * after them — what was started is stopped even when start-up failed half-way. The getters throw when read
 * before the stack is up.
 */
export function useLabCallStack(mediaSeconds: number): LabCallStack {
  let lab: Lab | undefined
  let conference: LabConference | undefined
  let proxy: LabProxy | undefined
  let media: LabMedia | undefined
  let region: string[] | undefined

  beforeAll(async () => {
    const made = makeLabMedia(mediaSeconds)
    lab = await createLab()
    conference = await startLabConference(lab)
    proxy = await startLabProxy(lab, { signalUpstream: conference.signalUrl })
    media = await made
    region = labRegionFlags(lab, proxy)
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await conference?.stop()
    await lab?.destroy()
    media?.remove()
  })

  const up = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`the lab call stack is not up (${name})`)
    return value
  }
  return {
    get lab() {
      return up(lab, 'lab')
    },
    get conference() {
      return up(conference, 'conference')
    },
    get proxy() {
      return up(proxy, 'proxy')
    },
    get media() {
      return up(media, 'media')
    },
    get region() {
      return up(region, 'region')
    },
  }
}
