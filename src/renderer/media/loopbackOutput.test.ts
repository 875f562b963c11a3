import { describe, expect, it } from 'vitest'
import { hiFiOpus } from './loopbackOutput'

const ANSWER = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  '',
].join('\r\n')

describe('hiFiOpus (the loopback answer the sender configures its encoder from)', () => {
  it('asks for 510 kbit/s mono Opus in 10 ms frames without DTX or FEC, and leaves the other codecs alone', () => {
    const sdp = hiFiOpus(ANSWER)
    expect(sdp).toContain(
      'a=fmtp:111 minptime=10;ptime=10;maxaveragebitrate=510000;stereo=0;useinbandfec=0;usedtx=0\r\n',
    )
    expect(sdp).not.toContain('useinbandfec=1')
    expect(sdp).toContain('a=fmtp:63 111/111\r\n')
    expect(sdp.split('\r\n')).toHaveLength(ANSWER.split('\r\n').length)
  })

  it('keeps an SDP without Opus as it is', () => {
    const noOpus = ANSWER.replace('opus/48000/2', 'telephone-event/48000')
    expect(hiFiOpus(noOpus)).toBe(noOpus)
  })
})
