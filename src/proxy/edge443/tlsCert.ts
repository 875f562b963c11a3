import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { generate } from 'selfsigned'

/**
 * The certificate of the proxy's TCP 443 (TURN over TLS, HTTPS, WSS). Clients pin its SHA-256
 * fingerprint, which the session API hands out.
 */

export interface CertOptions {
  /** PEM certificate (chain allowed: the leaf comes first). Give both files or neither. */
  certFile?: string
  /** PEM private key matching the certificate. */
  keyFile?: string
  /** Subject CN of a generated certificate. */
  commonName: string
  /** IPs and DNS names for a generated certificate's SAN; 127.0.0.1, ::1 and localhost are always added. */
  altNames: string[]
  /** Validity of a generated certificate, days (default 365). */
  validityDays?: number
}

export interface CertMaterial {
  cert: string
  key: string
  /** SHA-256 of the leaf's DER, uppercase hex pairs joined by colons, as clients pin it. */
  fingerprintSha256: string
  /** True when no files were given and a self-signed certificate was generated. */
  generated: boolean
}

type SanEntry = { type: 2; value: string } | { type: 7; ip: string }

export async function loadOrGenerateCert(options: CertOptions): Promise<CertMaterial> {
  const { certFile, keyFile } = options
  if (certFile !== undefined && keyFile !== undefined) return loadCert(certFile, keyFile)
  if (certFile !== undefined || keyFile !== undefined) {
    throw new Error(`TLS: certFile and keyFile go together (only ${certFile ?? keyFile} was given)`)
  }
  return generateCert(options)
}

async function loadCert(certFile: string, keyFile: string): Promise<CertMaterial> {
  const cert = await readText(certFile, 'certificate')
  const key = await readText(keyFile, 'private key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (error) {
    throw new Error(`TLS: ${certFile} is not a PEM certificate`, { cause: error })
  }
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey(key)
  } catch (error) {
    throw new Error(`TLS: ${keyFile} is not a PEM private key (encrypted keys are not supported)`, {
      cause: error,
    })
  }
  if (!x509.checkPrivateKey(keyObject)) {
    throw new Error(`TLS: the key in ${keyFile} does not match the certificate in ${certFile}`)
  }
  return { cert, key, fingerprintSha256: x509.fingerprint256, generated: false }
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    throw new Error(`TLS: cannot read the ${what} file ${file}`, { cause: error })
  }
}

async function generateCert(options: CertOptions): Promise<CertMaterial> {
  const notBeforeDate = new Date(Date.now() - 5 * 60_000) // tolerate clients whose clock is a little behind
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.validityDays ?? 365) * 86_400_000)
  const pems = await generate([{ name: 'commonName', value: options.commonName }], {
    keyType: 'ec', // P-256: small, and the fastest handshakes for many short TURN/TLS connections
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: sanEntries(options.altNames) },
    ],
  })
  return {
    cert: pems.cert,
    key: pems.private,
    fingerprintSha256: new X509Certificate(pems.cert).fingerprint256,
    generated: true,
  }
}

function sanEntries(names: string[]): SanEntry[] {
  const unique = [...new Set([...names, '127.0.0.1', '::1', 'localhost'].map((n) => n.trim()))].filter(
    Boolean,
  )
  return unique.map((name) => {
    const bare = name.replace(/^\[(.*)\]$/, '$1')
    return isIP(bare) !== 0 ? { type: 7, ip: bare } : { type: 2, value: name }
  })
}
