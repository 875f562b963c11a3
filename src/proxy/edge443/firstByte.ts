import type { Readable } from 'node:stream'

const TLS_HANDSHAKE = 0x16

export type FirstByteRoute = 'tls' | 'turn' | 'http' | 'malformed'

/**
 * STUN messages start with 0b00 (RFC 8489 §6), so 0x00–0x3F is TURN; a TURN client always opens with a
 * STUN request, never with ChannelData (0x40–0x4F), so letters are free for HTTP methods. 0x16 is a TLS
 * handshake record, outside TLS only.
 */
export function classifyFirstByte(byte: number, insideTls: boolean): FirstByteRoute {
  if (byte === TLS_HANDSHAKE && !insideTls) return 'tls'
  if (byte <= 0x3f) return 'turn'
  if ((byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)) return 'http'
  return 'malformed'
}

/**
 * Calls `onFirst` with the first byte once data is there, leaving every byte readable. The `readable`
 * listener goes away before `onFirst` runs; Node then returns the stream to its initial (not flowing,
 * not paused) state, so a consumer attaching `data` later still receives everything.
 */
export function peekFirstChunk(stream: Readable, onFirst: (firstByte: number) => void): void {
  const onReadable = (): void => {
    const chunk: Buffer | null = stream.read()
    if (chunk === null || chunk.length === 0) return
    stream.off('readable', onReadable)
    stream.unshift(chunk)
    onFirst(chunk[0]!)
  }
  stream.on('readable', onReadable)
}
