import { describe, expect, it } from 'vitest'
import { answerProblem } from './answer'

/**
 * The check must refuse what werift would wrongly apply without refusing any real client's answer: the
 * werift answers are exercised end to end (e2e/sfu), so these are the shapes a browser sends.
 */

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0')).join(':')

const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:2',
  '',
].join('\r\n')

/** As Chrome answers: transport attributes in every m-section, upper-case hex, a rejected m-line. */
function chromeAnswer(edit: (lines: string[]) => string[] = (l) => l): string {
  const section = (kind: string, port: number, mid: number, pt: number): string[] => [
    `m=${kind} ${port} UDP/TLS/RTP/SAVPF ${pt}`,
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Xk3+',
    'a=ice-pwd:0bQ1zW8pN3cR5tY7uI9oA2sD',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${FINGERPRINT.toUpperCase()}`,
    'a=setup:active',
    `a=mid:${mid}`,
    port === 0 ? 'a=inactive' : 'a=sendonly',
    'a=rtcp-mux',
    `a=rtpmap:${pt} ${kind === 'audio' ? 'opus/48000/2' : 'VP8/90000'}`,
  ]
  const lines = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
    ...section('audio', 9, 0, 111),
    ...section('video', 9, 1, 96),
    ...section('video', 0, 2, 96),
  ]
  return `${edit(lines).join('\r\n')}\r\n`
}

describe('answerProblem', () => {
  it('accepts a browser-shaped answer, with LF line ends, lower-case hex or a session-level fingerprint', () => {
    expect(answerProblem(OFFER, chromeAnswer())).toBeUndefined()
    expect(answerProblem(OFFER, chromeAnswer().replace(/\r\n/g, '\n'))).toBeUndefined()
    const lowerHex = (lines: string[]) =>
      lines.map((l) => (l.startsWith('a=fingerprint:') ? l.toLowerCase() : l))
    expect(answerProblem(OFFER, chromeAnswer(lowerHex))).toBeUndefined()
    const sessionLevel = (lines: string[]): string[] => {
      const rest = lines.filter((l) => !l.startsWith('a=fingerprint:'))
      return [...rest.slice(0, 4), `a=fingerprint:sha-256 ${FINGERPRINT}`, ...rest.slice(4)]
    }
    expect(answerProblem(OFFER, chromeAnswer(sessionLevel))).toBeUndefined()
    const sha1 = Array.from({ length: 20 }, () => 'AB').join(':')
    const withSha1 = (lines: string[]) =>
      lines.map((l) => (l.startsWith('a=fingerprint:') ? `a=fingerprint:SHA-1 ${sha1}` : l))
    expect(answerProblem(OFFER, chromeAnswer(withSha1))).toBeUndefined()
  })

  it('names what is wrong with an answer werift would apply anyway', () => {
    const refused = (edit: (lines: string[]) => string[]) => answerProblem(OFFER, chromeAnswer(edit))
    expect(answerProblem(OFFER, 'hello')).toMatch(/not SDP/)
    expect(refused((l) => [...l, 'hello'])).toMatch(/not an SDP line: hello/)
    expect(refused((l) => l.filter((x) => !x.startsWith('m=video 0')))).toMatch(
      /2 m-lines answer an offer of 3/,
    )
    expect(refused((l) => l.map((x) => (x === 'a=mid:1' ? 'a=mid:7' : x)))).toMatch(/m-line 1 .* mid 7/)
    expect(refused((l) => l.map((x) => x.replace('m=audio', 'm=video')))).toMatch(/m-line 0 is video/)
    const fingerprint = (value: string) => (l: string[]) =>
      l.map((x) => (x.startsWith('a=fingerprint:') ? `a=fingerprint:${value}` : x))
    expect(refused(fingerprint('sha-256 bogus'))).toMatch(/malformed a=fingerprint/)
    expect(refused(fingerprint(`md5 ${FINGERPRINT.slice(0, 47)}`))).toMatch(/malformed a=fingerprint/)
    expect(refused(fingerprint(`sha-256 ${FINGERPRINT.slice(3)}`))).toMatch(/malformed a=fingerprint/)
    expect(refused((l) => l.filter((x) => !x.startsWith('a=fingerprint:')))).toBe('no a=fingerprint')
    expect(refused((l) => l.filter((x) => !x.startsWith('a=ice-ufrag:')))).toBe('no a=ice-ufrag')
    expect(refused((l) => l.map((x) => x.replace(/^a=ice-pwd:.*/, 'a=ice-pwd:short')))).toMatch(
      /malformed a=ice-pwd/,
    )
  })
})
