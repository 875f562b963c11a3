import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  CONTENT_SECURITY_POLICY,
  allowNavigation,
  allowPermissionCheck,
  allowPermissionRequest,
  windowOpenPolicy,
  withCsp,
} from './windowSecurity'

describe('content security policy', () => {
  it('allows nothing by default, scripts only from the app, no inline or eval', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'")
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'")
    expect(CONTENT_SECURITY_POLICY).toContain("object-src 'none'")
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/)
  })

  it('is the meta tag of index.html too', () => {
    const html = readFileSync(new URL('../renderer/index.html', import.meta.url), 'utf8')
    expect(html).toContain(`content="${CONTENT_SECURITY_POLICY}"`)
  })

  it('replaces any CSP header the response had', () => {
    const headers = withCsp({ 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] })
    expect(headers).toEqual({
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    })
    expect(withCsp(undefined)).toEqual({ 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] })
  })
})

describe('navigation and window.open', () => {
  it.each(['https://example.com/', 'file:///etc/passwd', 'http://localhost:5173/'])('denies %s', (url) => {
    expect(allowNavigation(url)).toBe(false)
    expect(windowOpenPolicy({ url })).toEqual({ action: 'deny' })
  })
})

describe('permissions', () => {
  it.each([
    ['media', ['audio'], true],
    ['media', ['video'], true],
    ['media', ['audio', 'video'], true],
    ['media', [], false],
    ['media', undefined, false],
    ['media', ['video', 'screen'], false],
    ['geolocation', undefined, false],
    ['notifications', undefined, false],
    ['clipboard-read', undefined, false],
    ['display-capture', ['video'], false],
    ['openExternal', undefined, false],
  ] as const)('request %s %j → %s', (permission, mediaTypes, granted) => {
    expect(allowPermissionRequest(permission, mediaTypes ? { mediaTypes } : {})).toBe(granted)
  })

  it.each([
    ['media', true],
    ['geolocation', false],
    ['notifications', false],
  ] as const)('check %s → %s', (permission, granted) => {
    expect(allowPermissionCheck(permission)).toBe(granted)
  })
})
