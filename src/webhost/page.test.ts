import { describe, expect, it } from 'vitest'
import { BRIDGE_SCRIPT_PATH } from '../shared/webBridge'
import { servePage } from './page'

describe('servePage', () => {
  const tag = `<script src="${BRIDGE_SCRIPT_PATH}"></script>`

  it('puts the bridge before the renderer’s first script, after the CSP meta', () => {
    const html =
      '<html><head><meta http-equiv="Content-Security-Policy" content="x">' +
      '<script type="module" crossorigin src="./assets/index.js"></script></head><body></body></html>'
    const out = servePage(html)
    expect(out.indexOf(tag)).toBeGreaterThan(out.indexOf('Content-Security-Policy'))
    expect(out.indexOf(tag)).toBeLessThan(out.indexOf('./assets/index.js'))
  })

  it('a page without scripts gets it at the end of head', () => {
    expect(servePage('<html><head></head></html>')).toMatch(new RegExp(`${tag}\\s*</head>`))
  })
})
