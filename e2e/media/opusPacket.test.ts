import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/tools'
import { parseToc, RangeDecoder, silkFlags } from './opusPacket'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'pinhole-opus-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The packets of an Ogg Opus file (RFC 7845), without its two header packets. */
function oggPackets(file: Buffer): Uint8Array[] {
  const packets: Uint8Array[] = []
  let current: Buffer[] = []
  for (let at = 0; at < file.length;) {
    const segments = file[at + 26]!
    let body = at + 27 + segments
    for (const lacing of file.subarray(at + 27, at + 27 + segments)) {
      current.push(file.subarray(body, body + lacing))
      body += lacing
      if (lacing < 255) {
        packets.push(new Uint8Array(Buffer.concat(current)))
        current = []
      }
    }
    at = body
  }
  return packets.slice(2)
}

/** libopus (through ffmpeg) on the browser tests' pulsing tone, 20 ms frames, 32 kbit/s, voip. */
async function encode(name: string, fec: boolean): Promise<Uint8Array[]> {
  const out = join(dir, `${name}.ogg`)
  await run(requireTool('ffmpeg'), [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', "aevalsrc='0.6*sin(2*PI*440*t)*(0.55+0.45*sin(2*PI*3*t))':s=48000:d=2"],
    ...['-ac', '1', '-c:a', 'libopus', '-application', 'voip', '-b:a', '32k', '-frame_duration', '20'],
    ...(fec ? ['-fec', '1', '-packet_loss', '10'] : []),
    out,
  ])
  return oggPackets(readFileSync(out))
}

describe('Opus packet reading (RFC 6716 §3.1, §4.1, §4.2.3)', () => {
  it.each([
    [0x08, { config: 1, mode: 'silk', frameUs: 20_000, code: 0, stereo: false }],
    [0x78, { config: 15, mode: 'hybrid', frameUs: 20_000, code: 0, stereo: false }],
    [0xfc, { config: 31, mode: 'celt', frameUs: 20_000, code: 0, stereo: true }],
    [0x19, { config: 3, mode: 'silk', frameUs: 60_000, code: 1, stereo: false }],
  ] as const)('TOC %i', (toc, expected) => {
    expect(parseToc(Uint8Array.of(toc, 0))).toEqual(expected)
  })

  it('the range decoder reads equiprobable bits as libopus does (hand-computed bytes)', () => {
    // val = 127 - (b0 >> 1) after the first byte, then normalized: a first byte of 0x00 gives val at the top
    // of the range (first bit 0), 0xff at the bottom (first bit 1).
    expect(new RangeDecoder(Uint8Array.of(0x00, 0x00)).bit(1)).toBe(false)
    expect(new RangeDecoder(Uint8Array.of(0xff, 0xff)).bit(1)).toBe(true)
  })

  it('with FEC: LBRR set in the packets after an active frame, never in the first; without: never', async () => {
    const [withFec, without] = await Promise.all([encode('fec', true), encode('plain', false)])
    const flags = withFec.map((p) => silkFlags(p))
    expect(flags.every((f) => f !== null)).toBe(true)
    expect(flags[0]!.lbrr).toBe(false)
    // LBRR copies the previous frame when that frame was active: the flag follows the previous VAD flag.
    const follows = flags.slice(1).filter((f, i) => f!.lbrr === flags[i]!.vad[0]).length
    expect(follows).toBeGreaterThanOrEqual(0.95 * (flags.length - 1))
    expect(flags.filter((f) => f!.lbrr).length).toBeGreaterThan(flags.length / 2)
    const plainSilk = without.map((p) => silkFlags(p)).filter((f) => f !== null)
    expect(plainSilk.length).toBeGreaterThan(5)
    expect(plainSilk.some((f) => f.lbrr)).toBe(false)
  })
})
