import {
  app,
  BrowserWindow,
  desktopCapturer,
  ipcMain,
  Menu,
  MessageChannelMain,
  session,
  webContents,
  type WebFrameMain,
} from 'electron'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MEDIA_PORT_WIRE_CHANNEL } from '../shared/ipcChannels'
import {
  acquireLocalStack,
  allowNavigation,
  allowPermissionCheck,
  allowPermissionRequest,
  createAppCore,
  createAppLogger,
  effectiveSettings,
  loadPolicy,
  logDirectory,
  regionsFromEnv,
  sharedLocalStack,
  windowOpenPolicy,
  withCsp,
  type AppCore,
} from '../app'
import { electronMediaPort } from './electronMedia'
import { coreByWebContents, forwardEvents, registerHandlers } from './handlers'
import { profileUserData, windowDataDir } from './profile'
import { displayMediaHandler, SharePicker } from './sharePicker'
import { windowOptions } from './window'

/**
 * The thin Electron entry (docs/app.md): the window's options from window.ts and its security policies
 * from src/app/windowSecurity.ts, one app core (src/app) per window, one validated handler per contract
 * channel routed to the sender's core, media over MessageChannelMain. Every window of this process shares
 * one embedded local stack, which other instances find by discovery.
 */

const profileDir = profileUserData(app.getPath('appData'), process.env)
if (profileDir) app.setPath('userData', profileDir)
// Read once at start: IT changes to the policy apply at the next start. Never from the env when packaged.
const policy = loadPolicy({ allowEnvOverride: !app.isPackaged })
// Rotating JSON-lines files in the OS log location at the policy's level (docs/policy.md "What IT gets
// back"); PINHOLE_LOG_DIR moves them for development and tests, never in a packaged app.
const logDir = (!app.isPackaged && process.env['PINHOLE_LOG_DIR']) || logDirectory()
const appLog = createAppLogger({ dir: logDir, level: effectiveSettings({}, policy).logLevel })
const logger = appLog.logger
// Refused: another instance runs on this userData. Allowed; this one keeps its settings apart (own uid).
const sharedProfile = !app.requestSingleInstanceLock()

app.enableSandbox()

app.on('web-contents-created', (_event, contents) => {
  contents.setWindowOpenHandler(windowOpenPolicy)
  contents.on('will-navigate', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault()
  })
  contents.on('will-redirect', (event, url) => {
    if (!allowNavigation(url)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
})

const cores = new Map<number, AppCore>()
/** Each window's screen-share picker, by webContents id (the display-media handler finds it by frame). */
const pickers = new Map<number, SharePicker>()
/** Cores of closed windows still leaving their call: the process waits for them before it quits. */
const closing = new Set<Promise<void>>()
const stack = sharedLocalStack(() => acquireLocalStack({ logger }))
const regions = regionsFromEnv()
const versions = {
  app: app.getVersion(),
  ...(process.versions.electron ? { electron: process.versions.electron } : {}),
  ...(process.versions.chrome ? { chrome: process.versions.chrome } : {}),
}
let windowsOpened = 0

async function openWindow(): Promise<void> {
  const index = windowsOpened++
  const window = new BrowserWindow(
    windowOptions(fileURLToPath(new URL('../preload/index.cjs', import.meta.url))),
  )
  const contents = window.webContents
  const id = contents.id
  const picker = new SharePicker(desktopCapturer)
  pickers.set(id, picker)
  const core = await createAppCore({
    dataDir: windowDataDir(app.getPath('userData'), index, sharedProfile),
    ...(regions ? { regions } : {}),
    policy,
    localStack: () => stack.get(),
    openMediaPort: () => {
      const { port1, port2 } = new MessageChannelMain()
      contents.postMessage(MEDIA_PORT_WIRE_CHANNEL, null, [port2])
      return electronMediaPort(port1)
    },
    logger: logger.child({ window: index + 1 }),
    shareSources: picker,
    systemLocale: app.getLocale(),
    diagnostics: {
      dir: join(app.getPath('userData'), 'diagnostics'),
      logFiles: () => appLog.file.files(),
      versions,
    },
  })
  cores.set(id, core)
  const stopEvents = forwardEvents(core, (channel, ...args) => {
    if (!contents.isDestroyed()) contents.send(channel, ...args)
  })
  window.once('ready-to-show', () => window.show())
  window.on('closed', () => {
    cores.delete(id)
    pickers.delete(id)
    stopEvents()
    closing.add(core.close())
  })

  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!app.isPackaged && devUrl) await window.loadURL(devUrl)
  else await window.loadFile(fileURLToPath(new URL('../renderer/index.html', import.meta.url)))
}

function installMenu(): void {
  const template: Electron.MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        // A second participant on this computer: its own engine and uid, the same local stack.
        { label: 'New Window', accelerator: 'CmdOrCtrl+Shift+N', click: () => void openWindow() },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
  ]
  Menu.setApplicationMenu(Menu.buildFromTemplate(template))
}

async function start(): Promise<void> {
  await app.whenReady()
  const ses = session.defaultSession
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(allowPermissionRequest(permission, 'mediaTypes' in details ? details : {}))
  })
  ses.setPermissionCheckHandler((_contents, permission) => allowPermissionCheck(permission))
  // getDisplayMedia: the source the window's own picker chose (sharePicker.ts); none → refused.
  ses.setDisplayMediaRequestHandler(
    displayMediaHandler((frame) => {
      const contents = frame ? webContents.fromFrame(frame as WebFrameMain) : undefined
      return contents ? pickers.get(contents.id) : undefined
    }),
  )
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withCsp(details.responseHeaders) })
  })
  registerHandlers(ipcMain, coreByWebContents(cores))
  installMenu()
  const count = Math.min(Math.max(Number(process.env['PINHOLE_WINDOWS'] ?? 1) || 1, 1), 4)
  for (let i = 0; i < count; i++) await openWindow()
}

/**
 * Calls leave and the local stack (and its discovery file) go before the process does, however the quit
 * starts: the last window closed, the menu's Quit, Ctrl+Q or a test's app.close() (Electron emits no
 * window-all-closed after app.quit(), so the work hangs on before-quit, which every quit passes through).
 */
let cleanedUp = false
let cleaning = false
app.on('window-all-closed', () => app.quit())
app.on('before-quit', (event) => {
  if (cleanedUp) return
  event.preventDefault()
  if (cleaning) return
  cleaning = true
  void Promise.allSettled([...closing, ...[...cores.values()].map((core) => core.close())])
    .then(() => stack.close())
    .finally(() => {
      appLog.close()
      cleanedUp = true
      app.quit()
    })
})

start().catch((error: unknown) => {
  logger.fatal({ err: error }, 'Pinhole failed to start')
  app.exit(1)
})
