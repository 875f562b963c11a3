import { describe, expect, it } from 'vitest'
import { addressKey, ConnectionSlots, type Slot } from './connectionSlots'

function admitted(slots: ConnectionSlots, address: string): Slot {
  const admission = slots.admit(address)
  if (!admission.ok) throw new Error(`refused: ${admission.reason}`)
  return admission.slot
}

describe('ConnectionSlots', () => {
  it('limits unauthenticated connections per address, and an authenticated one frees its place', () => {
    const slots = new ConnectionSlots({
      maxConnections: 100,
      unauthenticatedPercent: 100,
      unauthenticatedPerIp: 2,
    })
    const first = admitted(slots, '198.51.100.7')
    admitted(slots, '198.51.100.7')
    expect(slots.admit('198.51.100.7')).toEqual({ ok: false, reason: 'unauthenticated_per_ip' })
    expect(slots.admit('198.51.100.8').ok).toBe(true)
    first.authenticate()
    first.authenticate()
    expect(first.authenticated).toBe(true)
    expect(slots.admit('198.51.100.7').ok).toBe(true)
    expect(slots.counts()).toEqual({ total: 4, unauthenticated: 3 })
  })

  it('keeps the rest of maxConnections for authenticated connections', () => {
    const slots = new ConnectionSlots({
      maxConnections: 4,
      unauthenticatedPercent: 50,
      unauthenticatedPerIp: 10,
    })
    const a = admitted(slots, '10.0.0.1')
    admitted(slots, '10.0.0.2')
    expect(slots.admit('10.0.0.3')).toEqual({ ok: false, reason: 'unauthenticated_share' })
    a.authenticate()
    admitted(slots, '10.0.0.3').authenticate()
    admitted(slots, '10.0.0.4')
    expect(slots.admit('10.0.0.5')).toEqual({ ok: false, reason: 'max_connections' })
  })

  it('releases once, whatever the state', () => {
    const slots = new ConnectionSlots({
      maxConnections: 10,
      unauthenticatedPercent: 100,
      unauthenticatedPerIp: 1,
    })
    const a = admitted(slots, '10.0.0.1')
    a.release()
    a.release()
    a.authenticate()
    const b = admitted(slots, '10.0.0.1')
    b.authenticate()
    b.release()
    expect(slots.counts()).toEqual({ total: 0, unauthenticated: 0 })
  })

  it('keys IPv4-mapped addresses as IPv4 and IPv6 by /64', () => {
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1')
    expect(addressKey('2001:db8:1:2:a::1')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:DB8:1:2::ff')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
  })
})
