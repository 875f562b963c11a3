import type { ChildProcess } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Region } from '../../src/shared/engine'
import { screenshot } from '../browser/artifacts'
import { requireBrowserTools, viewBrowserArgs } from '../browser/browsers'
import { buildRenderer } from '../browser/buildRenderer'
import type { WebHostProcessOptions } from '../browser/webHostProcess'
import { stopChild } from '../support/process'
import { requireTool } from '../support/tools'
import { REPO, createLab, labSupport, type Lab } from './lab'
import { startLabProxy, type LabProxy } from './labProxy'
import { WHITELIST, blockCounter, type LabBlock } from './topology'

/**
 * Issue 6, acceptance 1: the app's "Network check" view against the firewall lab. The browser host (the
 * engine, so the doctor's sockets) runs INSIDE `lan`, and so does Chromium (through a wrapper executable:
 * `ip netns exec <lan> chromium "$@"`, which keeps Playwright's pipe), because the page reaches the host on
 * lan's own 127.0.0.1. The router `fw` blocks UDP 7070 ahead of the whitelist: the view must show exactly
 * that endpoint blocked, with the rule IT has to add, and UDP 3478, TLS 443 and the session API reachable.
 * With the proxy killed every endpoint is refused, with no rule (issue 10 item 9).
 */

// Not root → skip, saying why (as the other lab tests).
const support = labSupport()
if (!support.ok) console.log(support.reason)

const BLOCK: LabBlock = { proto: 'udp', port: 7070 }

function ipTool(): string {
  return ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((path) => existsSync(path)) ?? 'ip'
}

/** Resolves with the host process's first stdout line (its URL), or rejects with its stderr. */
function hostUrl(child: ChildProcess): Promise<string> {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web host did not start in 60 s: ${stderr}`)), 60_000)
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { url: string }).url)
    })
    child.once('exit', (code) => reject(new Error(`web host exited ${code}: ${stderr}`)))
  })
}

describe.skipIf(!support.ok)('Network check view inside the firewall lab (Chromium in lan)', () => {
  let lab: Lab | undefined
  let proxy: LabProxy | undefined
  let host: ChildProcess | undefined
  let browser: Browser | undefined
  let page: Page
  let dir: string

  beforeAll(async () => {
    requireBrowserTools()
    dir = mkdtempSync(join(tmpdir(), 'pinhole-lab-view-'))
    const rendererDir = join(dir, 'renderer')
    const built = buildRenderer(rendererDir)
    lab = await createLab()
    proxy = await startLabProxy(lab)
    const pem = proxy.turn('tls-443', 'view').turnTlsCa
    if (pem === undefined) throw new Error('labProxy gave no certificate for tls-443')
    const region: Region = {
      id: 'lab',
      name: 'Lab DMZ',
      proxyHost: lab.addresses.dmz,
      ports: {
        udp: WHITELIST.filter((w) => w.proto === 'udp').map((w) => w.port) as [number, number],
        tcp: WHITELIST.find((w) => w.proto === 'tcp')!.port,
      },
      tlsFingerprintSha256: new X509Certificate(pem).fingerprint256,
    }
    await built
    const options: WebHostProcessOptions = {
      dataDir: join(dir, 'data'),
      rendererDir,
      logDir: join(dir, 'logs'),
      regions: [region],
    }
    host = lab.spawnNode('lan', join(REPO, 'e2e/browser/webHostProcess.ts'), [JSON.stringify(options)])
    const url = await hostUrl(host)

    const wrapper = join(dir, 'chromium-in-lan')
    writeFileSync(
      wrapper,
      `#!/bin/sh\nexec ${ipTool()} netns exec ${lab.names.lan} ${requireTool('chromium')} "$@"\n`,
    )
    chmodSync(wrapper, 0o755)
    browser = await chromium.launch({ executablePath: wrapper, headless: true, args: viewBrowserArgs() })
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    page.on('pageerror', (error) => console.error('page error:', error))
    await page.goto(url)
    await page.getByTestId('region-lab').waitFor()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    if (host) {
      host.stdin?.end()
      await stopChild(host, 5000)
    }
    await proxy?.stop()
    await lab?.destroy()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('shows UDP 7070 blocked with the rule to add, the other endpoints reachable, and exports it', async () => {
    const l = lab!
    const unblock = await l.block(BLOCK)
    try {
      const dropsBefore = (await l.counters())[blockCounter(BLOCK)]?.packets ?? 0
      await page.getByTestId('view-network').click()
      await page.getByTestId('network-run').click()
      const summary = page.getByTestId('network-summary')
      await summary.waitFor({ timeout: 30_000 })
      const table = page.getByTestId('network-region-lab')
      await expect(table.getAttribute('data-ok')).resolves.toBe('false')

      const rule = 'allow UDP from desktops to 10.99.2.2 port 7070'
      const blocked = table.getByTestId('network-row-udpAlt')
      await expect(blocked.getAttribute('data-status')).resolves.toBe('blocked')
      await expect(blocked.getByTestId('network-target').textContent()).resolves.toBe('10.99.2.2:7070')
      await expect(blocked.getByTestId('network-rule').textContent()).resolves.toBe(rule)
      await expect(blocked.getByTestId('network-rtt').textContent()).resolves.toBe('—')
      for (const [endpoint, target] of [
        ['udp', '10.99.2.2:3478'],
        ['tls', '10.99.2.2:443'],
        ['session', '10.99.2.2:443'],
      ] as const) {
        const row = table.getByTestId(`network-row-${endpoint}`)
        await expect(row.getAttribute('data-status'), endpoint).resolves.toBe('reachable')
        await expect(row.getByTestId('network-target').textContent()).resolves.toBe(target)
        await expect(row.getByTestId('network-rtt').textContent()).resolves.toMatch(/^\d+(\.\d)? ms$/)
        await expect(row.getByTestId('network-rule').textContent()).resolves.toBe('')
      }
      await expect(summary.textContent()).resolves.toContain(`Firewall rules to add: ${rule}.`)
      // The datagrams the view's check sent to 7070 are the ones the block dropped.
      expect((await l.counters())[blockCounter(BLOCK)]!.packets).toBeGreaterThan(dropsBefore)
      await screenshot(page, 'lab-network-check')

      await page.getByTestId('export-diagnostics').click()
      const path = (await page.getByTestId('export-path').textContent({ timeout: 10_000 }))!
      expect(path.startsWith(join(dir, 'data'))).toBe(true)
      const bundle = JSON.parse(readFileSync(path, 'utf8')) as {
        networkChecks: { regions: { rows: { endpoint: string; status: string; rule?: string }[] }[] }
      }
      expect(bundle.networkChecks.regions[0]!.rows.find((r) => r.endpoint === 'udpAlt')).toMatchObject({
        status: 'blocked',
        rule,
      })
    } finally {
      await unblock()
    }
  }, 90_000)

  it('with the proxy stopped, every row is refused with no rule: the proxy, not IT, is named', async () => {
    await proxy!.kill()
    try {
      await page.getByTestId('network-run').click()
      // The previous run's table stays until this one's report replaces it.
      const table = page.getByTestId('network-region-lab')
      await table
        .locator('[data-testid="network-row-udp"][data-status="refused"]')
        .waitFor({ timeout: 30_000 })
      const summary = page.getByTestId('network-summary')
      await expect(table.locator('caption').textContent()).resolves.toContain(
        'proxy not running: contact whoever runs it',
      )
      for (const endpoint of ['udp', 'udpAlt', 'tls', 'session']) {
        const row = table.getByTestId(`network-row-${endpoint}`)
        await expect(row.getAttribute('data-status'), endpoint).resolves.toBe('refused')
        await expect(row.getByTestId('network-status').textContent()).resolves.toBe('refused 30104')
        await expect(row.getByTestId('network-rule').textContent()).resolves.toMatch(
          /^none: nothing listens there, the proxy is not running; contact whoever runs it$/,
        )
      }
      const text = (await summary.textContent())!
      expect(text).not.toContain('Firewall rules to add')
      expect(text).toContain(
        '10.99.2.2 refused UDP 3478, UDP 7070, TLS 443, Session API: nothing listens there',
      )
      await screenshot(page, 'lab-network-check-proxy-stopped')
    } finally {
      await proxy!.restart()
    }
  }, 60_000)

  it('with the block removed, running again shows every endpoint reachable', async () => {
    await page.getByTestId('network-run').click()
    await page.locator('[data-testid="network-summary"][data-ok="true"]').waitFor({ timeout: 30_000 })
    const statuses = await page
      .getByTestId('network-region-lab')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-status')))
    expect(statuses).toEqual(['reachable', 'reachable', 'reachable', 'reachable'])
    await expect(page.getByTestId('network-summary').textContent()).resolves.toMatch(/no firewall change/)
  }, 60_000)
})
