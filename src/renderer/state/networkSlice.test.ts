import { describe, expect, it } from 'vitest'
import type { NetworkCheckReport } from '../../shared/networkCheck'
import { createAppStore } from './store'

const report = (ok: boolean): NetworkCheckReport => ({
  startedAt: new Date(0).toISOString(),
  durationMs: 10,
  ok,
  regions: [],
  summary: ok ? 'all good' : 'UDP 7070 blocked',
})

describe('network slice', () => {
  it('starts on the call view with no report and no export', () => {
    expect(createAppStore().getState()).toMatchObject({
      view: 'call',
      networkReport: null,
      networkChecking: false,
      networkProblem: null,
      diagnosticsExport: { status: 'idle' },
    })
  })

  it('switches views', () => {
    const s = createAppStore().getState
    s().setView('network')
    expect(s().view).toBe('network')
    s().setView('call')
    expect(s().view).toBe('call')
  })

  it.each([
    [
      'a report',
      (s: ReturnType<typeof createAppStore>['getState']) => s().networkCheckDone(report(true)),
      true,
    ],
    ['a failure', (s: ReturnType<typeof createAppStore>['getState']) => s().networkCheckFailed('no'), false],
  ])('a check that ends with %s stops "checking"', (_name, end, replaced) => {
    const s = createAppStore().getState
    s().networkCheckDone(report(false))
    s().networkCheckStarted()
    // The previous report stays on screen while the next check runs.
    expect(s()).toMatchObject({ networkChecking: true, networkReport: report(false), networkProblem: null })
    end(s)
    expect(s().networkChecking).toBe(false)
    expect(s().networkReport?.ok).toBe(replaced)
    expect(s().networkProblem).toBe(replaced ? null : 'no')
  })

  it('a new check clears the previous problem', () => {
    const s = createAppStore().getState
    s().networkCheckFailed('host went away')
    s().networkCheckStarted()
    expect(s().networkProblem).toBeNull()
  })

  it('tracks the export: writing → written with its path, or failed with a sentence', () => {
    const s = createAppStore().getState
    s().exportStarted()
    expect(s().diagnosticsExport).toEqual({ status: 'writing' })
    s().exportDone('/x/pinhole-diagnostics-1.json')
    expect(s().diagnosticsExport).toEqual({ status: 'written', path: '/x/pinhole-diagnostics-1.json' })
    s().exportFailed('disk full')
    expect(s().diagnosticsExport).toEqual({ status: 'failed', sentence: 'disk full' })
  })

  it('each store is fresh', () => {
    const a = createAppStore()
    a.getState().setView('network')
    expect(createAppStore().getState().view).toBe('call')
  })
})
