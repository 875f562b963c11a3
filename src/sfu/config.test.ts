import { describe, expect, it } from 'vitest'
import { SfuConfigSchema } from './config'
import { SFU_DEFAULTS } from './defaults'
import { serverPeerConfig } from './media/rtc'

describe('SfuConfigSchema', () => {
  it('fills every default from an empty section', () => {
    const config = SfuConfigSchema.parse(undefined)
    expect(config).toMatchObject({
      enabled: false,
      listenHost: SFU_DEFAULTS.listenHost,
      port: SFU_DEFAULTS.port,
      maxParticipants: 16,
      reconnectGraceMs: 10_000,
      devTokens: false,
      maxMessageBytes: 65_536,
    })
    expect(config.rtcPortRange).toBeUndefined()
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown field', { maxParticipant: 3 }, ''],
    ['a wildcard announced address', { announcedAddress: '0.0.0.0' }, 'announcedAddress'],
    ['a host name to listen on', { listenHost: 'localhost' }, 'listenHost'],
    ['a reversed port range', { rtcPortRange: [50_010, 50_000] }, 'rtcPortRange'],
    ['a one-port range', { rtcPortRange: [50_000, 50_000] }, 'rtcPortRange'],
    ['zero participants', { maxParticipants: 0 }, 'maxParticipants'],
    ['a tiny message limit', { maxMessageBytes: 100 }, 'maxMessageBytes'],
    ['families that differ', { listenHost: '::1', announcedAddress: '127.0.0.1' }, 'listenHost'],
  ])('refuses %s, naming the field', (_name, input, path) => {
    const result = SfuConfigSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path)
  })

  it('accepts a port of 0 and a NAT setup', () => {
    const config = SfuConfigSchema.parse({
      port: 0,
      listenHost: '0.0.0.0',
      announcedAddress: '203.0.113.7',
      rtcPortRange: [40_000, 40_100],
    })
    expect(config.port).toBe(0)
  })
})

describe('serverPeerConfig', () => {
  it('announces one address, lite, with no ICE server and no interface enumeration', () => {
    const config = SfuConfigSchema.parse({ listenHost: '0.0.0.0', announcedAddress: '203.0.113.7' })
    expect(serverPeerConfig(config)).toMatchObject({
      iceServers: [],
      iceLite: true,
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['203.0.113.7'],
      iceInterfaceAddresses: { udp4: '0.0.0.0' },
      bundlePolicy: 'max-bundle',
    })
  })
})

describe('SfuConfigSchema: connection limits', () => {
  it('trusts loopback proxies by default and takes addresses or CIDRs', () => {
    expect(SfuConfigSchema.parse({}).trustedProxies).toEqual(['127.0.0.0/8', '::1'])
    const config = SfuConfigSchema.parse({ trustedProxies: ['10.0.0.5', '10.1.0.0/16', '2001:db8::/64'] })
    expect(config.trustedProxies).toHaveLength(3)
  })

  it.each(['proxy.example.com', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129'])(
    'refuses trustedProxies %s',
    (entry) => {
      expect(() => SfuConfigSchema.parse({ trustedProxies: [entry] })).toThrow(/IP address or CIDR/)
    },
  )

  it('refuses an unauthenticated share outside 1-100 %', () => {
    expect(() => SfuConfigSchema.parse({ unauthenticatedPercent: 0 })).toThrow(/from 1 to 100/)
  })
})
