import type { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '../shared/errors'
import { INVOKE_CHANNELS, MEDIA_PORT_WIRE_CHANNEL, invokeWireChannel, type IpcReply } from '../shared/ipc'
import { DISCOVERY_FILE } from '../app'

/**
 * The Electron entry against a fake `electron` (the binary cannot be downloaded here): one window with the
 * security options, one handler per channel routed to that window's core on a real embedded stack, the
 * media port posted to the preload, and a quit that closes the stack and withdraws its discovery file.
 */

const dir = mkdtempSync(join(tmpdir(), 'pinhole-main-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const fake = vi.hoisted(() => {
  type Handler = (event: unknown, ...args: unknown[]) => unknown
  return {
    app: null as unknown as EventEmitter & Record<string, ReturnType<typeof vi.fn>>,
    handlers: new Map<string, Handler>(),
    windows: [] as Array<EventEmitter & { options: unknown; webContents: Record<string, unknown> }>,
    loaded: [] as string[],
    posted: [] as Array<{ channel: string; ports: unknown[] }>,
    menu: vi.fn(),
    displayMediaHandler: null as null | ((request: unknown, callback: (answer: unknown) => void) => void),
  }
})

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events')
  const { MessageChannel } = await import('node:worker_threads')
  const app = Object.assign(new EventEmitter(), {
    getPath: vi.fn((name: string) => (name === 'userData' ? join(dir, 'userData') : join(dir, 'appData'))),
    getVersion: vi.fn(() => '9.8.7'),
    getLocale: vi.fn(() => 'zh-CN'),
    setPath: vi.fn(),
    requestSingleInstanceLock: vi.fn(() => true),
    enableSandbox: vi.fn(),
    whenReady: vi.fn(() => Promise.resolve()),
    isPackaged: false,
    // As Electron: quit() emits before-quit, and a listener may prevent it.
    quit: vi.fn(() => {
      const event = { prevented: false, preventDefault: () => (event.prevented = true) }
      app.emit('before-quit', event)
      if (!event.prevented) app.emit('will-quit')
    }),
    exit: vi.fn(),
  })
  fake.app = app as never
  let nextId = 1
  class BrowserWindow extends EventEmitter {
    readonly webContents: Record<string, unknown>
    constructor(readonly options: unknown) {
      super()
      const mainFrame = { main: true }
      this.webContents = {
        id: nextId++,
        mainFrame,
        isDestroyed: () => false,
        send: vi.fn(),
        postMessage: vi.fn((channel: string, _message: unknown, ports: unknown[]) =>
          fake.posted.push({ channel, ports }),
        ),
      }
      fake.windows.push(this as never)
    }
    loadFile = vi.fn(async (file: string) => void fake.loaded.push(file))
    loadURL = vi.fn(async (url: string) => void fake.loaded.push(url))
    show = vi.fn()
  }
  /** MessagePortMain: message events carry { data, ports }. */
  class PortMain extends EventEmitter {
    constructor(private readonly port: InstanceType<typeof MessageChannel>['port1']) {
      super()
      port.on('message', (data: unknown) => this.emit('message', { data, ports: [] }))
      port.on('close', () => this.emit('close'))
    }
    postMessage(message: unknown): void {
      this.port.postMessage(message)
    }
    start(): void {}
    close(): void {
      this.port.close()
    }
  }
  class MessageChannelMain {
    readonly port1: PortMain
    readonly port2: PortMain
    constructor() {
      const channel = new MessageChannel()
      this.port1 = new PortMain(channel.port1)
      this.port2 = new PortMain(channel.port2)
    }
  }
  return {
    app,
    BrowserWindow,
    MessageChannelMain,
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => unknown) =>
        fake.handlers.set(channel, handler),
      removeHandler: (channel: string) => fake.handlers.delete(channel),
    },
    Menu: { setApplicationMenu: fake.menu, buildFromTemplate: (template: unknown) => template },
    desktopCapturer: {
      getSources: async () => [
        {
          id: 'screen:0:0',
          name: 'Entire screen',
          thumbnail: { toDataURL: () => 'data:image/png;base64,AA==' },
        },
      ],
    },
    // A window's frames are its main frame here.
    webContents: {
      fromFrame: (frame: unknown) =>
        fake.windows.find((w) => w.webContents['mainFrame'] === frame)?.webContents,
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: vi.fn(),
        setPermissionCheckHandler: vi.fn(),
        setDisplayMediaRequestHandler: (handler: typeof fake.displayMediaHandler) =>
          (fake.displayMediaHandler = handler),
        webRequest: { onHeadersReceived: vi.fn() },
      },
    },
  }
})

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('Electron main (fake electron, real core and stack)', () => {
  it('opens a secure window whose page reaches its own core; quitting closes the stack', async () => {
    vi.stubEnv('PINHOLE_LOG_DIR', join(dir, 'logs'))
    vi.stubEnv('PINHOLE_RUN_DIR', join(dir, 'run'))
    vi.stubEnv('PINHOLE_POLICY_FILE', join(dir, 'no-policy.json'))
    vi.stubEnv('PINHOLE_REGIONS', '')
    vi.stubEnv('PINHOLE_PROFILE', '')
    await import('./index')
    await until(() => fake.loaded.length === 1, 'the window to load')

    expect(fake.app['enableSandbox']).toHaveBeenCalled()
    const [window] = fake.windows
    const prefs = (window!.options as { webPreferences: Record<string, unknown> }).webPreferences
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false })
    expect(String(prefs['preload'])).toMatch(/preload[\\/]index\.cjs$/)
    expect(fake.loaded[0]).toMatch(/renderer[\\/]index\.html$/)
    expect([...fake.handlers.keys()].sort()).toEqual(INVOKE_CHANNELS.map(invokeWireChannel).sort())

    const contents = window!.webContents
    const invoke = (name: (typeof INVOKE_CHANNELS)[number], senderFrame: unknown, ...args: unknown[]) =>
      fake.handlers.get(invokeWireChannel(name))!({ sender: contents, senderFrame }, ...args) as Promise<
        IpcReply<unknown>
      >
    expect(await invoke('getSettings', contents['mainFrame'])).toMatchObject({
      ok: true,
      value: { embedded: true, regions: [{ id: 'local', name: 'This computer' }] },
    })
    expect(await invoke('getSettings', { sub: true })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.InvalidState },
    })
    expect(await invoke('connectMedia', contents['mainFrame'])).toEqual({ ok: true, value: 0 })
    // Screen sharing: the window's picker lists desktopCapturer's sources, and the session's display-media
    // handler answers that window's getDisplayMedia with the one chosen.
    expect(await invoke('listShareSources', contents['mainFrame'])).toMatchObject({
      ok: true,
      value: [{ id: 'screen:0:0', kind: 'screen' }],
    })
    expect(await invoke('chooseShareSource', contents['mainFrame'], 'screen:0:0')).toEqual({
      ok: true,
      value: 0,
    })
    const answers: unknown[] = []
    fake.displayMediaHandler!({ frame: contents['mainFrame'], videoRequested: true }, (a) => answers.push(a))
    expect(answers).toEqual([{ video: { id: 'screen:0:0', name: 'Entire screen' } }])
    expect(fake.posted).toHaveLength(1)
    expect(fake.posted[0]).toMatchObject({ channel: MEDIA_PORT_WIRE_CHANNEL })
    expect(fake.posted[0]!.ports).toHaveLength(1)
    expect(existsSync(join(dir, 'run', DISCOVERY_FILE))).toBe(true)

    // Export diagnostics: into userData/diagnostics, with the log file's lines and without the stack's secret.
    const { secret } = JSON.parse(readFileSync(join(dir, 'run', DISCOVERY_FILE), 'utf8')) as {
      secret: string
    }
    const token = await invoke('getDevToken', contents['mainFrame'], 'room', 7)
    const exported = await invoke('exportDiagnostics', contents['mainFrame'])
    expect(exported).toMatchObject({ ok: true })
    const path = (exported as { value: string }).value
    expect(path.startsWith(join(dir, 'userData', 'diagnostics'))).toBe(true)
    const text = readFileSync(path, 'utf8')
    const bundle = JSON.parse(text) as { versions: unknown; logs: { lines: string[] }[] }
    expect(bundle.versions).toMatchObject({ app: '9.8.7' })
    expect(bundle.logs.flatMap((log) => log.lines).join('\n')).toContain('app core ready')
    expect(text).not.toContain(secret)
    expect(text).not.toContain((token as { value: string }).value)

    // A quit from the menu (or Playwright's app.close()) with the window still open: no window-all-closed
    // follows app.quit(), so the clean-up must hang on before-quit.
    const quit = vi.fn()
    fake.app.on('will-quit', quit)
    ;(fake.app['quit'] as () => void)()
    expect(quit).not.toHaveBeenCalled() // held until the calls have left and the stack has closed
    await until(() => quit.mock.calls.length === 1, 'will-quit')
    expect(existsSync(join(dir, 'run', DISCOVERY_FILE))).toBe(false)
    vi.unstubAllEnvs()
  })
})
