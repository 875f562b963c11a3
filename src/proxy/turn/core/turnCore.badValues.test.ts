/**
 * Requests whose attribute values are malformed get 400 Bad Request instead of silence (issue 10 item 7),
 * while indications, responses and messages that fail their FINGERPRINT stay unanswered.
 */
import { describe, expect, it } from 'vitest'
import { AttrType, Method, StunClass } from '../../../protocol/stun/constants'
import { decodeMessage, getAttr, newTransactionId } from '../../../protocol/stun/message'
import { MALFORMED_VALUES, rawMessage, tlv } from '../../../../e2e/support/malformedStun'
import { TurnCore } from './turnCore'
import type { TurnStats } from './stats'
import { client, coreOptions } from '../../../../e2e/support/turnClient'
import type { Action, ClientRef } from './types'

const T0 = 1_800_000_000_000
const ref = client(40000)

function send(core: TurnCore<ClientRef>, data: Buffer): Action<ClientRef>[] {
  return core.handle({ type: 'client', client: ref, data }, T0)
}

describe('TurnCore: malformed attribute values', () => {
  it.each(MALFORMED_VALUES)('%s → 400 Bad Request', (_name, method, type, value) => {
    for (const fingerprint of [true, false]) {
      const core = new TurnCore<ClientRef>(coreOptions())
      const tid = newTransactionId()
      const sound = tlv(AttrType.SOFTWARE, Buffer.from('client'))
      const actions = send(core, rawMessage(method, tid, [sound, tlv(type, value)], { fingerprint }))

      expect(actions).toHaveLength(1)
      const sent = actions[0]!
      expect(sent.type).toBe('send')
      const decoded = decodeMessage(sent.type === 'send' ? sent.data : Buffer.alloc(0))
      if (!decoded.ok) throw new Error(decoded.reason)
      expect(decoded.message.cls).toBe(StunClass.ErrorResponse)
      expect(decoded.message.method).toBe(method)
      expect(decoded.message.transactionId).toEqual(tid)
      expect(getAttr(decoded.message, 'ERROR_CODE')).toEqual({ code: 400, reason: 'Bad Request' })
      expect((core.stats as TurnStats).errorsSent.get(400)).toBe(1)
      expect(core.allocationCount()).toBe(0)
    }
  })

  const truncatedPeer = tlv(AttrType.XOR_PEER_ADDRESS, Buffer.from([0, 1, 0x21, 0x12, 1, 2]))
  it.each([
    [
      'a Send indication',
      rawMessage(Method.Send, newTransactionId(), [truncatedPeer], { cls: StunClass.Indication }),
    ],
    [
      'a success response',
      rawMessage(Method.Binding, newTransactionId(), [truncatedPeer], { cls: StunClass.SuccessResponse }),
    ],
    [
      'a request whose FINGERPRINT fails',
      (() => {
        const m = rawMessage(Method.CreatePermission, newTransactionId(), [truncatedPeer])
        m[m.length - 1]! ^= 1
        return m
      })(),
    ],
  ])('%s with a malformed value stays unanswered and is counted', (_name, data) => {
    const core = new TurnCore<ClientRef>(coreOptions())
    expect(send(core, data)).toEqual([{ type: 'ignore', reason: 'malformed' }])
    expect((core.stats as TurnStats).ignoredBy.get('malformed')).toBe(1)
  })
})
