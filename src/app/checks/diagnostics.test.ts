import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { RegionProbeResult } from '../../shared/engine'
import { buildDiagnostics, REDACTED, Redactor, writeDiagnostics } from './diagnostics'
import { createAppLogger } from './logs'
import { effectiveSettings, type PolicyLoad } from '../settings/policy'

const dir = mkdtempSync(join(tmpdir(), 'pinhole-diag-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Every value below must be absent from the bundle, however it was written.
const PLANTED = {
  joinJwt:
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBLZXkiOiJsb2NhbCIsImNoYW5uZWwiOiJkZW1vIiwidWlkIjoxfQ.c2lnbmF0dXJlLXBsYW50ZWQ',
  cutJwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBLZXkiOiJsb2NhbCIs',
  turnCredential: 'fE3/ul+UuK5AugQIrbG7qg2zM4I=',
  turnCredentialUnlabelled: 'IG8lwqFQEP3u1pIu1dK1rx3PDEvXO/kQA7MmWoFzLgE=',
  turnSecret: 'planted-turn-secret-0123456789',
  appSecret: 'planted-app-secret-abcdefghijkl',
  proxyPassword: 'Corp!Passw0rd-planted',
  proxyPasswordInUrl: 'url-pass-planted-77',
  bearer: 'planted.bearer.value-XYZ123',
  basicAuth: 'dXNlcjpwbGFudGVkLWJhc2ljLXBhc3M=',
  apiKey: 'planted-api-key-9f8e7d6c',
  accessTokenQuery: 'planted-access-token-query-1',
  escapedToken: 'planted-escaped-token-42',
  cookie: 'sid=planted-cookie-session-5',
  privateKeyBody: 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgplantedkeybody',
  knownSecret: 'caller-known-session-secret-3',
  checkDetailToken: 'planted-detail-token-88',
  settingsToken: 'planted-settings-token-55',
}

const policyLoad: PolicyLoad = {
  status: 'valid',
  path: '/etc/pinhole/policy.json',
  policy: {
    regions: [
      {
        id: 'sh',
        name: 'Shanghai',
        proxyHost: '203.0.113.10',
        ports: { udp: [3478, 7070], tcp: 443 },
        tlsFingerprintSha256:
          'E7:7A:38:04:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:54:3E',
      },
    ],
    httpProxy: { host: 'proxy.corp', port: 3128, username: 'ann', password: PLANTED.proxyPassword },
  },
}

const checks: RegionProbeResult[] = [
  {
    regionId: 'sh',
    reachable: false,
    checks: [
      {
        endpoint: 'udp',
        check: 'UDP 3478',
        target: '203.0.113.10:3478',
        status: 'reachable',
        rttMs: 12,
        detail: 'ok',
      },
      {
        endpoint: 'session',
        check: 'Session API',
        target: '203.0.113.10:443',
        status: 'error',
        detail: `POST /v1/proxy/session?token=${PLANTED.checkDetailToken} failed: 401`,
      },
    ],
  },
]

function writeLogs(): string[] {
  const logDir = join(dir, 'logs')
  const log = createAppLogger({ dir: logDir, level: 'trace', maxBytes: 2000, maxFiles: 3 })
  // Lines as our own code might write them (pino redacts known paths) …
  log.logger.info({ channel: 'demo', uid: 1 }, 'joined channel demo')
  log.logger.info(
    { session: { turn: { username: '1795826461:1', credential: PLANTED.turnCredential } } },
    'session',
  )
  log.logger.info({ auth: `Bearer ${PLANTED.bearer}` }, 'signal connect')
  log.close()
  // … and lines pino cannot know about: messages, foreign formats, text from libraries.
  const raw = [
    `{"level":"debug","msg":"joinChannel token ${PLANTED.joinJwt} for demo"}`,
    `{"level":"warn","msg":"echo of ${PLANTED.cutJwt}..."}`,
    `turnSecret=${PLANTED.turnSecret} appSecret: ${PLANTED.appSecret}`,
    `CONNECT proxy.corp:3128 Proxy-Authorization: Basic ${PLANTED.basicAuth}`,
    `fetch http://ann:${PLANTED.proxyPasswordInUrl}@proxy.corp:3128/ failed`,
    `GET /v1/signal?access_token=${PLANTED.accessTokenQuery}&x=1 x-api-key=${PLANTED.apiKey}`,
    `{"msg":"upstream said {\\"token\\":\\"${PLANTED.escapedToken}\\",\\"ok\\":false}"}`,
    `set-cookie: ${PLANTED.cookie}; Path=/`,
    `-----BEGIN PRIVATE KEY-----\n${PLANTED.privateKeyBody}\n-----END PRIVATE KEY-----`,
    `proxy said 407 for ann with ${PLANTED.proxyPassword} (unlabelled)`,
    `turn creds 1795826461:1 ${PLANTED.turnCredentialUnlabelled}`,
    `retrying with ${PLANTED.knownSecret} in 2 s`,
  ]
  writeFileSync(join(logDir, 'pinhole.log.2'), `${raw.join('\n')}\n`)
  return [join(logDir, 'pinhole.log'), join(logDir, 'pinhole.log.2')]
}

describe('diagnostics export', () => {
  it('writes one file with logs, versions, settings, policy and checks, and no planted secret', () => {
    const settings = {
      ...effectiveSettings({ cloudProxy: 1, region: 'sh' }, policyLoad),
      lastJoin: { channel: 'demo', token: PLANTED.settingsToken },
    }
    const path = writeDiagnostics(
      {
        versions: { app: '0.1.0', electron: '45.5.0', chrome: '142.0.0.0' },
        settings,
        policy: policyLoad,
        networkChecks: checks,
        logFiles: writeLogs(),
        secrets: [PLANTED.knownSecret],
        now: new Date('2026-11-28T01:00:00Z'),
      },
      join(dir, 'out'),
    )
    expect(path).toBe(join(dir, 'out', 'pinhole-diagnostics-2026-11-28T01-00-00-000Z.json'))
    const text = readFileSync(path, 'utf8')

    for (const [name, value] of Object.entries(PLANTED)) {
      expect(text.includes(value), `${name} survived`).toBe(false)
      expect(text.includes(JSON.stringify(value).slice(1, -1)), `${name} (escaped) survived`).toBe(false)
    }

    // What IT needs is still there.
    const bundle = JSON.parse(text)
    expect(bundle).toMatchObject({
      format: 'pinhole-diagnostics',
      versions: { app: '0.1.0', electron: '45.5.0', node: process.versions.node },
      os: { platform: process.platform },
      policy: { status: 'valid', path: '/etc/pinhole/policy.json' },
      settings: { cloudProxy: 1, region: 'sh', httpProxy: { host: 'proxy.corp', username: 'ann' } },
    })
    expect(bundle.policy.content.regions[0].tlsFingerprintSha256).toMatch(/^E7:7A/)
    expect(bundle.networkChecks[0].checks[0]).toMatchObject({
      check: 'UDP 3478',
      status: 'reachable',
      rttMs: 12,
    })
    expect(bundle.logs.map((l: { file: string }) => l.file)).toEqual(['pinhole.log.2', 'pinhole.log'])
    const lines: string[] = bundle.logs.flatMap((l: { lines: string[] }) => l.lines)
    expect(lines.some((l) => l.includes('joined channel demo'))).toBe(true)
    expect(lines.some((l) => l.includes('1795826461:1'))).toBe(true)
    expect(text).toContain(REDACTED)
  })

  it('reports an invalid policy with its reason and keeps the newest log bytes', () => {
    const logDir = join(dir, 'big')
    const log = createAppLogger({ dir: logDir, level: 'info' })
    for (let i = 0; i < 200; i += 1) log.logger.info({ i }, 'line')
    log.close()
    const invalid: PolicyLoad = { status: 'invalid', path: '/p.json', reason: 'logLevel: bad', issues: [] }
    const bundle = buildDiagnostics({
      versions: { app: '0.1.0' },
      settings: effectiveSettings({}, invalid),
      policy: invalid,
      logFiles: [join(logDir, 'pinhole.log')],
      maxLogBytes: 1000,
    })
    expect(bundle.policy).toEqual({ status: 'invalid', path: '/p.json', reason: 'logLevel: bad' })
    expect(bundle.settings).toMatchObject({ canCall: false })
    const [only] = bundle.logs
    expect(only!.truncated).toBe(true)
    expect(JSON.parse(only!.lines.at(-1)!).i).toBe(199)
    expect(only!.lines.every((l) => JSON.parse(l).msg === 'line')).toBe(true)
  })
})

describe('Redactor.text', () => {
  it.each([
    ['a plain sentence', 'joined channel demo as uid 7 over udp', 'joined channel demo as uid 7 over udp'],
    ['a fingerprint', 'pinned AB:CD:EF', 'pinned AB:CD:EF'],
    ['password=…', 'password=hunter22', `password="${REDACTED}"`],
    ['"secret": "…"', '{"secret": "abc def"}', `{"secret": "${REDACTED}"}`],
    ['Bearer', 'authorization Bearer abcdefgh', `authorization Bearer ${REDACTED}`],
    ['a URL with a password', 'wss://u:p@h/x', `wss://${REDACTED}@h/x`],
  ])('%s', (_name, input, output) => {
    expect(new Redactor().text(input)).toBe(output)
  })
})
