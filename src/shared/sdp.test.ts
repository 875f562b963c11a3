import { describe, expect, it } from 'vitest'
import { sanitizeRemoteSdp } from './sdp'

describe('sanitizeRemoteSdp', () => {
  it('drops mDNS and TCP candidates, keeps UDP ones', () => {
    const sdp = [
      'v=0',
      'a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host',
      'a=candidate:2 1 udp 2130706431 abcd-1234.local 5000 typ host',
      'a=candidate:3 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active',
      'a=end-of-candidates',
    ].join('\r\n')
    expect(sanitizeRemoteSdp(sdp).split('\r\n')).toEqual([
      'v=0',
      'a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host',
      'a=end-of-candidates',
    ])
  })
})
