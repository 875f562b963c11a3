/**
 * A DNS server that knows no name (runs inside a lab namespace, on 127.0.0.1:53): every query gets
 * NXDOMAIN (RFC 1035 §4.1.1, RCODE 3) with its question echoed, as a company resolver answers a name that
 * does not exist. With /etc/netns/<ns>/resolv.conf pointing at it, getaddrinfo in that namespace fails at
 * once with ENOTFOUND instead of waiting on a resolver the lab's router drops. Prints "ready" when bound.
 */
import { createSocket } from 'node:dgram'

const HEADER_BYTES = 12

/** The header and the question of `query` (QNAME labels, QTYPE, QCLASS), without any additional record. */
function questionEnd(query: Buffer): number | undefined {
  let at = HEADER_BYTES
  while (at < query.length && query[at] !== 0) at += 1 + query[at]!
  const end = at + 1 + 4
  return end <= query.length ? end : undefined
}

const socket = createSocket('udp4')
socket.on('message', (query, from) => {
  const end = query.length >= HEADER_BYTES ? questionEnd(query) : undefined
  if (end === undefined) return
  const answer = Buffer.from(query.subarray(0, end))
  // QR = 1, AA = 1, opcode and RD as asked; RA = 1, RCODE = 3 (NXDOMAIN); one question, no records.
  answer[2] = (query[2]! & 0x79) | 0x84
  answer[3] = 0x83
  answer.writeUInt16BE(1, 4)
  answer.fill(0, 6, HEADER_BYTES)
  socket.send(answer, from.port, from.address)
})
socket.bind(53, '127.0.0.1', () => process.stdout.write('ready\n'))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
