import { DtlsClient, type RTCDtlsTransport } from 'werift'
import { handshakesInOrder } from '../../protocol/media/dtlsInOrder'

/**
 * The engine's ClientHello leaves right behind its connectivity check, not once ICE is connected (issue 15,
 * docs/engine.md "Join round trips" step 9): one round trip less between the answer and DTLS connected,
 * and werift's fixed 100 ms wait before a client's first ClientHello (`RTCDtlsTransport.start`, werift
 * 0.25) goes with it.
 *
 * RFC 8445 §12.1 (and RFC 8842 for DTLS) lets an agent send media — DTLS included — on a pair as soon as
 * it has sent a check on it, before the pair is nominated. Only where `iceFastStart.ts` nominates on the
 * first check (ICE-lite peer, one pair: the pair the check goes on is the one ICE will select): the
 * conference server accepts the ClientHello from that address once the check is authenticated, and keeps
 * one that comes before its ICE is connected (`src/sfu/media/dtlsFastStart.ts`).
 *
 * werift 0.25 starts its DTLS transport only after ICE is connected and sends through the nominated pair,
 * so, without patching werift, the transport's `start` is replaced by the same steps on werift's own
 * objects (DtlsClient, the transport's certificate, fingerprint check and SRTP start), sending on the
 * checked pair until ICE nominates it; werift's `connect` then awaits the handshake already under way.
 */

/** werift's ICE agent (`Connection`) and candidate pair: public in its JavaScript, not in its types. */
export interface EarlyIceAgent {
  nominated?: unknown
  send(data: Buffer): Promise<void>
  onData: { subscribe(on: (data: Buffer) => void): { unSubscribe(): void } }
}

export interface CheckedPair {
  protocol: { sendData(data: Buffer, addr: unknown): Promise<void> }
  remoteAddr: unknown
}

/** werift's `RTCDtlsTransport` internals used here. */
interface TransportInternals {
  remoteParameters?: { fingerprints: unknown[] }
  srtpProfiles: (1 | 7)[]
  dataReceiver(buf: Buffer): void
  setState(state: RTCDtlsTransport['state']): void
  verifyRemoteCertificateFingerprint(): void
  startSrtp(): void
}

/** RFC 7983: a first byte of 20–63 is DTLS. */
const isDtls = (data: Buffer): boolean => data.length > 0 && data[0]! >= 20 && data[0]! <= 63

/** Starts `transport`'s DTLS client now, on `pair`; false when it is not a client that can (werift's own start then). */
export function startDtlsBesideCheck(
  transport: RTCDtlsTransport,
  agent: EarlyIceAgent,
  pair: CheckedPair,
): boolean {
  const own = transport as unknown as TransportInternals
  if (transport.state !== 'new' || transport.role !== 'client') return false
  if (!own.remoteParameters?.fingerprints.length || !transport.localCertificate) return false
  const handshake = handshakeOn(transport, agent, pair)
  // werift's `connect` calls start() once ICE is connected: it gets the handshake under way.
  transport.start = () => handshake
  handshake.catch(() => undefined)
  return true
}

async function handshakeOn(
  transport: RTCDtlsTransport,
  agent: EarlyIceAgent,
  pair: CheckedPair,
): Promise<void> {
  const own = transport as unknown as TransportInternals
  const certificate = transport.localCertificate!
  own.setState('connecting')
  let onData: (data: Buffer) => void = () => undefined
  const received = agent.onData.subscribe((data) => isDtls(data) && onData(data))
  const link = {
    type: 'ice',
    closed: false,
    address: {},
    get onData() {
      return onData
    },
    set onData(on: (data: Buffer) => void) {
      onData = on
    },
    // The checked pair until ICE nominates it (the same pair: one pair, nominated on its check).
    send: (data: Buffer) =>
      agent.nominated ? agent.send(data) : pair.protocol.sendData(data, pair.remoteAddr),
    close: async () => {
      link.closed = true
      received.unSubscribe()
    },
  }
  const dtls = new DtlsClient({
    cert: certificate.certPem,
    key: certificate.privateKey,
    signatureHash: certificate.signatureHash,
    transport: link as never,
    srtpProfiles: own.srtpProfiles,
    extendedMasterSecret: true,
  })
  handshakesInOrder(dtls)
  transport.dtls = dtls
  dtls.onData.subscribe((buf) => own.dataReceiver(buf))
  dtls.onClose.subscribe(() => transport.state !== 'failed' && own.setState('closed'))
  // ICE failing or closing before the handshake ends stops the ClientHello's retransmissions.
  const ice = transport.iceTransport.onStateChange.subscribe((state) => {
    if ((state === 'failed' || state === 'closed') && !dtls.connected) dtls.close()
  })
  try {
    await new Promise<void>((resolve, reject) => {
      dtls.onConnect.once(() => resolve())
      dtls.onError.once(reject)
      dtls.onClose.once(() => reject(new Error('DTLS closed before it connected')))
      dtls.connect().catch(reject)
    })
    own.verifyRemoteCertificateFingerprint()
  } catch (error) {
    own.setState('failed')
    dtls.close()
    throw error
  } finally {
    ice.unSubscribe()
  }
  if (own.srtpProfiles.length > 0) own.startSrtp()
  own.setState('connected')
}
