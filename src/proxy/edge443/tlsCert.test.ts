import { X509Certificate, createHash, createPrivateKey } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrGenerateCert, type CertMaterial } from './tlsCert'

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/

/** The DER SHA-256, computed independently of X509Certificate.fingerprint256. */
function derSha256(pem: string): string {
  const base64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '')
  const hex = createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex').toUpperCase()
  return hex.match(/../g)!.join(':')
}

describe('loadOrGenerateCert', () => {
  let generated: CertMaterial
  let dir: string

  beforeAll(async () => {
    generated = await loadOrGenerateCert({
      commonName: 'pinhole-test',
      altNames: ['203.0.113.10', 'proxy.example'],
    })
    dir = await mkdtemp(join(tmpdir(), 'pinhole-cert-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('generates a self-signed P-256 certificate with the SANs clients connect to', () => {
    const x509 = new X509Certificate(generated.cert)
    expect(generated.generated).toBe(true)
    expect(x509.subject).toBe('CN=pinhole-test')
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(x509.checkIP('203.0.113.10')).toBe('203.0.113.10')
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(x509.checkHost('localhost')).toBe('localhost')
    expect(x509.checkHost('proxy.example')).toBe('proxy.example')
    expect(x509.checkPrivateKey(createPrivateKey(generated.key))).toBe(true)
  })

  it('reports the SHA-256 of the DER certificate as colon-separated uppercase hex', () => {
    expect(generated.fingerprintSha256).toMatch(FINGERPRINT)
    expect(generated.fingerprintSha256).toBe(derSha256(generated.cert))
  })

  it('loads a certificate and key from files and fingerprints the same way', async () => {
    const certFile = join(dir, 'cert.pem')
    const keyFile = join(dir, 'key.pem')
    await writeFile(certFile, generated.cert)
    await writeFile(keyFile, generated.key)
    const loaded = await loadOrGenerateCert({ certFile, keyFile, commonName: 'ignored', altNames: [] })
    expect(loaded).toEqual({ ...generated, generated: false })
  })

  it.each([
    ['a missing certificate file', 'missing-cert.pem', 'key.pem', /missing-cert\.pem/],
    ['a missing key file', 'cert.pem', 'missing-key.pem', /missing-key\.pem/],
    ['a certificate file that is not PEM', 'garbage.pem', 'key.pem', /garbage\.pem is not a PEM certificate/],
    ['a key file that is not a key', 'cert.pem', 'garbage.pem', /garbage\.pem is not a PEM private key/],
    ['a key of another certificate', 'cert.pem', 'other-key.pem', /other-key\.pem does not match/],
  ])('rejects %s, naming the file', async (_name, certName, keyName, message) => {
    const other = await loadOrGenerateCert({ commonName: 'other', altNames: [] })
    await writeFile(join(dir, 'cert.pem'), generated.cert)
    await writeFile(join(dir, 'key.pem'), generated.key)
    await writeFile(join(dir, 'garbage.pem'), 'not a pem at all')
    await writeFile(join(dir, 'other-key.pem'), other.key)
    const attempt = loadOrGenerateCert({
      certFile: join(dir, certName),
      keyFile: join(dir, keyName),
      commonName: 'x',
      altNames: [],
    })
    await expect(attempt).rejects.toThrow(message)
  })

  it('refuses a certificate file without its key', async () => {
    await expect(
      loadOrGenerateCert({ certFile: join(dir, 'cert.pem'), commonName: 'x', altNames: [] }),
    ).rejects.toThrow(/cert\.pem/)
  })
})
