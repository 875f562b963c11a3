import type { BrowserWindowConstructorOptions } from 'electron'

/**
 * The window's security policy as data and pure functions (Electron's security checklist), so it is
 * tested without the Electron binary; index.ts wires these into BrowserWindow and its webContents.
 */

/** Also in src/renderer/index.html as a meta tag (a test keeps the two equal). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ')

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

/** The response headers with our CSP set (replacing any the server sent). */
export function withCsp(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'content-security-policy') out[name] = value
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY]
  return out
}

/** The app is one page: every navigation away from it (links, drag-and-drop, redirects) is refused. */
export function allowNavigation(_url: string): boolean {
  return false
}

/** `setWindowOpenHandler`: no new windows, ever. */
export function windowOpenPolicy(_details: { url: string }): { action: 'deny' } {
  return { action: 'deny' }
}

/** Electron's `media` request names the kinds in `mediaTypes`. */
export interface PermissionDetails {
  mediaTypes?: readonly string[]
}

const MEDIA_TYPES = new Set(['audio', 'video'])

/** Camera and microphone only: `media` whose every requested kind is audio or video; nothing else. */
export function allowPermissionRequest(permission: string, details: PermissionDetails): boolean {
  if (permission !== 'media') return false
  const types = details.mediaTypes ?? []
  return types.length > 0 && types.every((type) => MEDIA_TYPES.has(type))
}

/** `setPermissionCheckHandler` (synchronous queries such as enumerateDevices labels). */
export function allowPermissionCheck(permission: string): boolean {
  return permission === 'media'
}
