import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePolicy } from '../../shared/policy'
import { Redactor } from '../checks/diagnostics'
import { effectiveSettings, loadPolicy } from './policy'

const user = fc.record(
  {
    cloudProxy: fc.constantFrom(0, 1, 2, 3 as const),
    region: fc.constantFrom('auto', 'sh', 'fra', 'mine'),
  },
  { requiredKeys: [] },
)

describe('policy parsing: any input in, no throw out', () => {
  it('parsePolicy takes any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parsePolicy(value)
        if (!result.ok) expect(result.issues.length).toBeGreaterThan(0)
      }),
    )
  })

  it('loadPolicy takes any file content, and an invalid one applies nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), user, (text, settings) => {
        const load = loadPolicy({ path: '/p.json', readFile: () => text })
        expect(['valid', 'invalid']).toContain(load.status)
        const effective = effectiveSettings(settings, load)
        if (load.status === 'invalid') {
          expect(effective).toMatchObject({ canCall: false, regions: [], cloudProxy: 2 })
        } else {
          // A valid policy never offers the user a mode outside its allowed set.
          expect(effective.allowedProxyModes).toContain(effective.cloudProxy)
        }
      }),
    )
  })
})

describe('Redactor: a planted secret never survives, whatever surrounds it', () => {
  const around = fc.string({ maxLength: 30 })
  const jwt = fc
    .tuple(fc.base64String({ minLength: 8, maxLength: 40 }), fc.base64String({ minLength: 8, maxLength: 40 }))
    .map(([a, b]) => `eyJ${a.replace(/[+/=]/g, 'x')}.eyJ${b.replace(/[+/=]/g, 'y')}.sig`)

  it('removes JWTs', () => {
    fc.assert(
      fc.property(around, jwt, around, (before, token, after) => {
        expect(new Redactor().text(`${before}${token}${after}`)).not.toContain(token.slice(0, 12))
      }),
    )
  })

  it('removes values it was told about, as is or JSON-escaped', () => {
    fc.assert(
      fc.property(around, fc.string({ minLength: 4, maxLength: 30 }), around, (before, secret, after) => {
        const redactor = new Redactor([secret])
        const out = redactor.text(`${before}${secret}${after}`)
        expect(out).not.toContain(secret)
        expect(redactor.text(JSON.stringify({ m: `${before}${secret}${after}` }))).not.toContain(
          JSON.stringify(secret).slice(1, -1),
        )
      }),
    )
  })
})
