import { app, BrowserWindow, ipcMain, session } from 'electron'
import { fileURLToPath } from 'node:url'
import { createEngine } from '../engine/engine'
import { registerHandlers } from './handlers'
import {
  allowNavigation,
  allowPermissionCheck,
  allowPermissionRequest,
  windowOpenPolicy,
  windowOptions,
  withCsp,
} from './window'

/**
 * The thin entry: policies from window.ts, handlers from handlers.ts. Regions, settings persistence and
 * the embedded local stack are later work (issue 5); the engine starts with no regions.
 */

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

async function start(): Promise<void> {
  await app.whenReady()
  const ses = session.defaultSession
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(allowPermissionRequest(permission, 'mediaTypes' in details ? details : {}))
  })
  ses.setPermissionCheckHandler((_contents, permission) => allowPermissionCheck(permission))
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withCsp(details.responseHeaders) })
  })

  const engine = createEngine({ regions: [] })
  const window = new BrowserWindow(
    windowOptions(fileURLToPath(new URL('../preload/index.cjs', import.meta.url))),
  )
  const unregister = registerHandlers(ipcMain, engine, (channel, ...args) => {
    if (!window.isDestroyed()) window.webContents.send(channel, ...args)
  })
  window.once('ready-to-show', () => window.show())
  window.on('closed', () => {
    unregister()
    void engine.release()
  })

  const devUrl = process.env['ELECTRON_RENDERER_URL']
  if (!app.isPackaged && devUrl) await window.loadURL(devUrl)
  else await window.loadFile(fileURLToPath(new URL('../renderer/index.html', import.meta.url)))
}

app.on('window-all-closed', () => app.quit())

start().catch((error: unknown) => {
  console.error('Pinhole failed to start', error)
  app.exit(1)
})
