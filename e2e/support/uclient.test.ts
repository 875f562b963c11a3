import { describe, expect, it } from 'vitest'
import { parseUclientOutput, UclientError, uclientArgs } from './uclient'

// Captured from turnutils_uclient (coturn 4.6.1) against coturn on loopback.
const clean = `0: : Total connect time is 0
1: : start_mclient: msz=3, tot_send_msgs=0, tot_recv_msgs=0, tot_send_bytes ~ 0, tot_recv_bytes ~ 0
5: : start_mclient: msz=3, tot_send_msgs=40, tot_recv_msgs=40, tot_send_bytes ~ 4000, tot_recv_bytes ~ 4000
5: : start_mclient: tot_send_msgs=60, tot_recv_msgs=60
5: : start_mclient: tot_send_bytes ~ 6000, tot_recv_bytes ~ 6000
5: : Total transmit time is 5
5: : Total lost packets 0 (0.000000%), total send dropped 0 (0.000000%)
5: : Average round trip delay 0.000000 ms; min = 0 ms, max = 0 ms
5: : Average jitter 0.433333 ms; min = 0 ms, max = 3 ms
`
const lossy = `2: : Total connect time is 2
21: : start_mclient: tot_send_msgs=800000, tot_recv_msgs=795210
21: : start_mclient: tot_send_bytes ~ 80000000, tot_recv_bytes ~ 79521000
21: : Total transmit time is 21
21: : Total lost packets 4790 (0.598750%), total send dropped 0 (0.000000%)
21: : Average round trip delay 22.481000 ms; min = 0 ms, max = 61 ms
21: : Average jitter 3.100000 ms; min = 0 ms, max = 40 ms
`

describe('parseUclientOutput', () => {
  it.each([
    {
      name: 'clean run',
      output: clean,
      expected: { sent: 60, received: 60, lost: 0, lossPercent: 0, rttAvgMs: 0, jitterAvgMs: 0.433333 },
    },
    {
      name: 'lossy run',
      output: lossy,
      expected: {
        sent: 800000,
        received: 795210,
        lost: 4790,
        lossPercent: 0.59875,
        rttAvgMs: 22.481,
        rttMaxMs: 61,
      },
    },
  ])('$name', ({ output, expected }) => {
    const result = parseUclientOutput(output, 0)

    expect(result).toMatchObject(expected)
  })

  it('throws UclientError when the allocation failed and no summary was printed', () => {
    const output = '0: : ERROR: Cannot complete Allocation\n0: : ERROR: Cannot complete Allocation\n'

    expect(() => parseUclientOutput(output, 255)).toThrow(UclientError)
  })
})

describe('uclientArgs', () => {
  it.each([
    { transport: 'udp' as const, flags: ['-c'] },
    { transport: 'tcp' as const, flags: ['-t', '-c'] },
    { transport: 'tls' as const, flags: ['-t', '-S', '-c'] },
  ])('$transport', ({ transport, flags }) => {
    const args = uclientArgs({
      host: '127.0.0.1',
      port: 3478,
      transport,
      peerHost: '127.0.0.1',
      peerPort: 3480,
      auth: { restSecret: 's3cret', username: 'u' },
      clients: 10,
      messages: 100,
      intervalMs: 5,
    })

    expect(args.slice(0, flags.length)).toEqual(flags)
    expect(args.at(-1)).toBe('127.0.0.1')
    expect(args.join(' ')).toContain('-p 3478 -e 127.0.0.1 -r 3480 -m 10 -n 100 -l 100 -z 5 -W s3cret -u u')
  })
})
