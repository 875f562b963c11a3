/**
 * Checks a client's SDP answer against the server's offer before werift applies it (docs/sfu.md,
 * "Negotiation"). werift applies whatever it can make sense of: "hello" parses as a description without
 * media and is applied as "every m-line rejected"; each m-line beyond those offered gets a transceiver of
 * its own; a fingerprint is only looked at after the DTLS handshake. Each leaves the participant joined
 * with a transport that never carries media, and the client is told nothing. Refused here, the answer
 * ends with `negotiation_failed` and close 4004 instead.
 */

/** RFC 8122 §5 hash functions werift can check, with their digest length in bytes. */
const FINGERPRINT_BYTES: Record<string, number> = {
  'sha-1': 20,
  'sha-224': 28,
  'sha-256': 32,
  'sha-384': 48,
  'sha-512': 64,
}

/** RFC 8839 §5.4: ice-char is ALPHA / DIGIT / "+" / "/"; ufrag 4–256 of them, pwd 22–256. */
const ICE_CREDENTIALS = { 'ice-ufrag': /^[A-Za-z0-9+/]{4,256}$/, 'ice-pwd': /^[A-Za-z0-9+/]{22,256}$/ }

interface MediaSection {
  kind: string
  mid: string | undefined
}

/** What makes `answer` unusable as the answer to `offer`, or undefined when it is usable. */
export function answerProblem(offer: string, answer: string): string | undefined {
  const lines = sdpLines(answer)
  if (lines[0] !== 'v=0') return 'not SDP: the first line is not v=0'
  const stray = lines.find((line) => !/^[a-z]=/.test(line))
  if (stray !== undefined) return `not an SDP line: ${clip(stray)}`
  const offered = mediaSections(sdpLines(offer))
  const answered = mediaSections(lines)
  // RFC 3264 §6: exactly as many m-lines as offered, each answering the offered one at its index.
  if (answered.length !== offered.length) {
    return `${answered.length} m-lines answer an offer of ${offered.length}`
  }
  const swapped = answered.findIndex((m, i) => m.kind !== offered[i]?.kind || m.mid !== offered[i]?.mid)
  if (swapped >= 0) {
    const [got, want] = [answered[swapped], offered[swapped]]
    return `m-line ${swapped} is ${got?.kind} mid ${got?.mid}, offered ${want?.kind} mid ${want?.mid}`
  }
  const fingerprints = attributes(lines, 'fingerprint')
  if (fingerprints.length === 0) return 'no a=fingerprint'
  const badFingerprint = fingerprints.find((value) => !isFingerprint(value))
  if (badFingerprint !== undefined) return `malformed a=fingerprint:${clip(badFingerprint)}`
  for (const [name, pattern] of Object.entries(ICE_CREDENTIALS)) {
    const values = attributes(lines, name)
    if (values.length === 0) return `no a=${name}`
    const bad = values.find((value) => !pattern.test(value))
    if (bad !== undefined) return `malformed a=${name}:${clip(bad)}`
  }
  return undefined
}

function sdpLines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((line) => line !== '')
}

function mediaSections(lines: string[]): MediaSection[] {
  const sections: MediaSection[] = []
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push({ kind: line.slice(2).split(' ')[0] ?? '', mid: undefined })
    const current = sections.at(-1)
    if (current && line.startsWith('a=mid:')) current.mid = line.slice('a=mid:'.length).trim()
  }
  return sections
}

function attributes(lines: string[], name: string): string[] {
  const prefix = `a=${name}:`
  return lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length).trim())
}

/** `sha-256 AB:CD:…`: a hash werift can check and a digest of that hash's length, in hex pairs. */
function isFingerprint(value: string): boolean {
  const [hash = '', digest = '', ...rest] = value.split(' ')
  const bytes = FINGERPRINT_BYTES[hash.toLowerCase()]
  if (bytes === undefined || rest.length > 0) return false
  const pairs = digest.split(':')
  return pairs.length === bytes && pairs.every((pair) => /^[0-9A-Fa-f]{2}$/.test(pair))
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}
