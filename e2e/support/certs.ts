import { generate } from 'selfsigned'

export interface TestCert {
  /** PEM certificate; self-signed, so it is also the CA a client pins. */
  certPem: string
  /** PEM PKCS#8 private key. */
  keyPem: string
  /** SHA-1 fingerprint, colon-separated hex (as selfsigned reports it). */
  fingerprint: string
}

export interface TestCertOptions {
  commonName?: string
  ips?: readonly string[]
  dnsNames?: readonly string[]
  validForMs?: number
}

/**
 * A throwaway self-signed ECDSA P-256 certificate for loopback TLS listeners. The SANs carry the IP
 * literals because clients connect to `turns:127.0.0.1:PORT` and verify the IP against the SAN (RFC 6125).
 */
export async function generateTestCert(options: TestCertOptions = {}): Promise<TestCert> {
  const ips = options.ips ?? ['127.0.0.1', '::1']
  const dnsNames = options.dnsNames ?? ['localhost']
  const result = await generate([{ name: 'commonName', value: options.commonName ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + (options.validForMs ?? 24 * 3600_000)),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...ips.map((ip) => ({ type: 7 as const, ip })),
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
        ],
      },
    ],
  })
  return { certPem: result.cert, keyPem: result.private, fingerprint: result.fingerprint }
}
