/**
 * The browser host (docs/app.md): it serves the page only with its per-run key, refuses other origins on
 * the WebSocket, answers invokes through the page's own app core, and — in Debian Chromium — the page gets
 * `window.pinhole` and a media port exactly as under Electron; two pages (two participants) on its embedded
 * stack exchange media through their ports over the WebSocket pipes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { CONTENT_SECURITY_POLICY } from '../../src/app/windowSecurity'
import { ErrorCode } from '../../src/shared/errors'
import type { PinholeApi } from '../../src/shared/ipc'
import { BRIDGE_SCRIPT_PATH, BRIDGE_WS_PATH } from '../../src/shared/webBridge'
import { startWebHost, type WebHost } from '../../src/webhost/server'
import { chromiumBaseArgs } from '../support/chromium'
import { requireTool } from '../support/tools'

const CHROMIUM_FLAGS = ['--headless', ...chromiumBaseArgs()]

/** The page as these tests see it (the node tsconfig has no DOM types; page.evaluate bodies run there). */
interface PagePort {
  postMessage(message: unknown, transfer?: unknown[]): void
  onmessage: ((event: { data: unknown }) => void) | null
}
interface PageGlobals {
  pinhole: PinholeApi
  sawPinholeAtStart?: boolean
  port?: PagePort
  down: { kind: string; uid?: number; bytes: number }[]
  timers: unknown[]
  addEventListener(
    type: 'message',
    listener: (event: { source: unknown; data: unknown; ports: PagePort[] }) => void,
  ): void
}

const root = mkdtempSync(join(tmpdir(), 'pinhole-webhost-'))
/** A stand-in for the built renderer: the same CSP, one module script (the host injects the bridge). */
const rendererDir = join(root, 'renderer')
let host: WebHost
let cookie: string

beforeAll(async () => {
  const { mkdirSync } = await import('node:fs')
  mkdirSync(rendererDir)
  writeFileSync(
    join(rendererDir, 'index.html'),
    `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">` +
      `<script type="module" src="./app.js"></script></head><body><div id="root"></div></body></html>`,
  )
  // What a renderer does at start: read window.pinhole synchronously, as a module script.
  writeFileSync(
    join(rendererDir, 'app.js'),
    `globalThis.sawPinholeAtStart = typeof window.pinhole === 'object'\n`,
  )
  host = await startWebHost({ dataDir: join(root, 'data'), rendererDir })
  const res = await fetch(host.url, { redirect: 'manual' })
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!
})
afterAll(async () => {
  await host?.close()
  rmSync(root, { recursive: true, force: true })
})

describe('HTTP: only the holder of the key, only 127.0.0.1', () => {
  it('the key URL sets an HttpOnly SameSite=Strict cookie and redirects to /', async () => {
    const res = await fetch(host.url, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect(res.headers.get('set-cookie')).toMatch(/^pinhole_k=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/)
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?k=/)
  })

  it.each([
    ['no cookie', '/', {}, 403],
    ['a wrong key', '/?k=nope', {}, 403],
    ['the bridge without cookie', BRIDGE_SCRIPT_PATH, {}, 403],
    ['a path out of the renderer', '/..%2f..%2fetc%2fpasswd', 'cookie', 404],
    ['a missing file', '/nothing.js', 'cookie', 404],
  ] as const)('%s (%s)', async (_what, path, withCookie, status) => {
    const headers: Record<string, string> = withCookie === 'cookie' ? { cookie } : {}
    const res = await fetch(`${host.origin}${path}`, { headers, redirect: 'manual' })
    expect(res.status).toBe(status)
  })

  it('index.html gets the bridge before the renderer’s script, and the app’s CSP', async () => {
    const res = await fetch(`${host.origin}/`, { headers: { cookie } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    const html = await res.text()
    expect(html.indexOf(`<script src="${BRIDGE_SCRIPT_PATH}">`)).toBeGreaterThan(0)
    expect(html.indexOf(`<script src="${BRIDGE_SCRIPT_PATH}">`)).toBeLessThan(html.indexOf('./app.js'))
    const script = await fetch(`${host.origin}${BRIDGE_SCRIPT_PATH}`, { headers: { cookie } })
    expect(script.headers.get('content-type')).toMatch(/javascript/)
    expect(await script.text()).not.toMatch(/^\s*import\s/m)
  })
})

function openSocket(headers: Record<string, string>, profile = 'raw'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${host.port}${BRIDGE_WS_PATH}?profile=${profile}`, { headers })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function call(ws: WebSocket, id: number, name: string, args: unknown[]): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (isBinary) return
      const message = JSON.parse(data.toString()) as { t: string; id?: number; reply?: unknown }
      if (message.t === 'reply' && message.id === id) {
        ws.off('message', onMessage)
        resolve(message.reply)
      }
    }
    ws.on('message', onMessage)
    ws.send(JSON.stringify({ t: 'invoke', id, name, args }))
  })
}

describe('WebSocket: the bridge protocol', () => {
  it.each([
    ['another origin', { origin: 'http://127.0.0.1:1' }],
    ['no cookie', { origin: 'ORIGIN' }],
    ['no origin', { cookie: 'COOKIE' }],
  ])('%s is refused', async (_what, headers) => {
    const resolved = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [
        k,
        v === 'ORIGIN' ? host.origin : v === 'COOKIE' ? cookie : v,
      ]),
    )
    await expect(openSocket(resolved)).rejects.toThrow(/403/)
  })

  it('answers invokes through the page’s core: values, 414 for bad arguments or unknown channels', async () => {
    const ws = await openSocket({ origin: host.origin, cookie })
    try {
      expect(await call(ws, 1, 'getSettings', [])).toMatchObject({ ok: true, value: { embedded: true } })
      expect(await call(ws, 2, 'setCloudProxy', [9])).toMatchObject({ ok: false, error: { code: 414 } })
      expect(await call(ws, 3, 'eval', ['x'])).toMatchObject({ ok: false, error: { code: 414 } })
      expect(await call(ws, 4, 'getSettings', 'not-an-array' as never)).toMatchObject({
        ok: false,
        error: { code: 414 },
      })
      expect(host.localStack?.region.name).toBe('This computer')
    } finally {
      ws.close()
    }
  })
})

/** The host's event messages on one socket, as `name args…`. */
function events(ws: WebSocket): string[] {
  const seen: string[] = []
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return
    const message = JSON.parse(data.toString()) as { t: string; name?: string; args?: unknown[] }
    if (message.t === 'event') seen.push([message.name, ...(message.args ?? [])].join(' '))
  })
  return seen
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  if (!check()) throw new Error(`timed out waiting for ${what}`)
}

describe('WebSocket: screen share and display names (issue 13)', () => {
  it('two pages join by name; one shares and stops; the other hears it all through the bridge', async () => {
    const a = await openSocket({ origin: host.origin, cookie }, 'share-a')
    const b = await openSocket({ origin: host.origin, cookie }, 'share-b')
    const [seenA, seenB] = [events(a), events(b)]
    let id = 100
    const invoke = async (ws: WebSocket, name: string, args: unknown[]) => call(ws, id++, name, args)
    const join = async (ws: WebSocket, uid: number, displayName: string) => {
      const token = ((await invoke(ws, 'getDevToken', ['bridge-names', uid])) as { value: string }).value
      return invoke(ws, 'joinChannel', [token, 'bridge-names', uid, { displayName }])
    }
    try {
      expect(await join(a, 1, '\u0007')).toMatchObject({
        ok: false,
        error: { code: ErrorCode.RequestParameter },
      })
      expect(await join(a, 1, '张三')).toEqual({ ok: true, value: 0 })
      expect(await join(b, 2, ' Li Lei ')).toEqual({ ok: true, value: 0 })
      await eventually(
        () => seenA.includes('userJoined 2 Li Lei') && seenB.includes('userJoined 1 张三'),
        'names',
      )

      expect(await invoke(a, 'startScreenCapture', [])).toEqual({ ok: true, value: 0 })
      expect(await invoke(a, 'startScreenCapture', [])).toEqual({ ok: true, value: ErrorCode.InvalidState })
      await eventually(() => seenB.includes('userSubStreamVideoStart 1'), 'the share announced')
      expect(await invoke(a, 'stopScreenCapture', [])).toEqual({ ok: true, value: 0 })
      await eventually(() => seenB.includes('userSubStreamVideoStop 1'), 'the share stopped')
    } finally {
      for (const ws of [a, b]) {
        await invoke(ws, 'leaveChannel', [])
        ws.close()
      }
    }
  })
})

describe('in Chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: requireTool('chromium'), args: CHROMIUM_FLAGS })
  })
  afterAll(() => browser?.close())

  async function openPage(): Promise<Page> {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(host.url)
    await page.waitForFunction(() => 'sawPinholeAtStart' in globalThis)
    // Install the renderer's media-port listener: frames from the host are counted, keyframe requests too.
    await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals
      g.down = []
      g.addEventListener('message', (event) => {
        if (event.source !== g || (event.data as { type?: string })?.type !== 'pinhole:media-port') return
        const port = event.ports[0]!
        g.port = port
        port.onmessage = (e) => {
          const m = e.data as { kind: string; uid?: number; data?: ArrayBuffer }
          g.down.push({ kind: m.kind, bytes: m.data?.byteLength ?? 0, ...(m.uid ? { uid: m.uid } : {}) })
        }
      })
    })
    return page
  }

  it('window.pinhole is there before the renderer runs, read-only, and getSettings works', async () => {
    const page = await openPage()
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sawPinholeAtStart)).toBe(true)
    expect(await page.evaluate(() => Object.getOwnPropertyDescriptor(globalThis, 'pinhole')?.writable)).toBe(
      false,
    )
    const reply = await page.evaluate(() => (globalThis as unknown as PageGlobals).pinhole.getSettings())
    expect(reply).toMatchObject({
      ok: true,
      value: { embedded: true, regions: [{ id: 'local', name: 'This computer' }], connectionState: 1 },
    })
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).pinhole.joinChannel('t', 'room', -1)),
    ).toMatchObject({
      ok: false,
      error: { code: 414 },
    })
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).pinhole.connectMedia())).toEqual({
      ok: true,
      value: 0,
    })
    await page.waitForFunction(() => 'port' in globalThis)
    await page.context().close()
  })

  it('two pages join through the UDP proxy and get each other’s frames over their media ports', async () => {
    const pages = [await openPage(), await openPage()]
    try {
      for (const [i, page] of pages.entries()) {
        const uid = 500 + i
        const result = await page.evaluate(async (uid) => {
          const api = (globalThis as unknown as PageGlobals).pinhole
          await api.connectMedia()
          await api.setCloudProxy(1)
          await api.enableLocalVideo(true)
          const token = await api.getDevToken('web-room', uid)
          if (!token.ok) return token
          return api.joinChannel(token.value, 'web-room', uid)
        }, uid)
        expect(result).toEqual({ ok: true, value: 0 })
      }
      // Each page sends synthetic key frames and audio through its port, as its encoders would, until both
      // have heard from the other (subscriptions take a renegotiation after the second join).
      for (const page of pages) {
        await page.evaluate(() => {
          const g = globalThis as unknown as PageGlobals
          let i = 0
          g.timers = [
            setInterval(() => {
              const video = new Uint8Array(1200).fill(i & 0xff).buffer
              g.port!.postMessage({ kind: 'video', data: video, timestampUs: i * 33_333, keyFrame: true }, [
                video,
              ])
              i++
            }, 33),
            setInterval(() => {
              const audio = new Uint8Array(80).fill(0xf8).buffer
              g.port!.postMessage(
                { kind: 'audio', data: audio, timestampUs: Math.round(performance.now() * 1000) },
                [audio],
              )
            }, 20),
          ]
        })
      }
      for (const [i, page] of pages.entries()) {
        const other = 500 + (1 - i)
        await page.waitForFunction(
          (other) => {
            const down = (globalThis as unknown as PageGlobals).down
            return (
              down.some((m) => m.kind === 'remoteVideo' && m.uid === other) &&
              down.some((m) => m.kind === 'remoteAudio' && m.uid === other)
            )
          },
          other,
          { timeout: 10_000 },
        )
      }
      expect(host.pages()).toBeGreaterThanOrEqual(2)
      for (const page of pages) {
        await page.evaluate(() =>
          (globalThis as unknown as PageGlobals).timers.forEach((t) => clearInterval(t as never)),
        )
        expect(
          await page.evaluate(() => (globalThis as unknown as PageGlobals).pinhole.leaveChannel()),
        ).toEqual({ ok: true, value: 0 })
      }
    } finally {
      await Promise.all(pages.map((page) => page.context().close()))
    }
  })
})
