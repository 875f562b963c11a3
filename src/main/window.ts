import type { BrowserWindowConstructorOptions } from 'electron'

/**
 * The Electron window's options (Electron's security checklist: isolated, sandboxed, no Node). The
 * host-neutral rest of the window's security policy (CSP, navigation, permissions) is in
 * src/app/windowSecurity.ts; index.ts wires both.
 */

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1200,
    height: 800,
    show: false,
    title: 'Pinhole',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  }
}
