/**
 * The window's security policy as data and pure functions (Electron's security checklist), host-neutral so
 * both hosts share it and it is tested without the Electron binary: src/main/index.ts wires these into
 * BrowserWindow's webContents and session, the browser host (src/webhost) sends the same CSP on every
 * response. The Electron-typed `BrowserWindow` options are in src/main/window.ts.
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
