import type { Socket } from 'node:dgram'
import type { RTCPeerConnection } from 'werift'

/**
 * The UDP sockets the conference server's PeerConnections hold (`pinhole_sfu_media_sockets`).
 *
 * werift binds a PeerConnection's socket while gathering, inside `setLocalDescription`: its ICE agent
 * makes a transport protocol (`ensureProtocol`), then binds its socket (`connectionMade`). Each socket is
 * counted from the moment that bind completes until Node emits the socket's `close` event, whatever the
 * PeerConnection's state meanwhile. So the gauge reports sockets that are really bound, not PeerConnections
 * the server believes open: a socket bound after its PeerConnection was closed stays counted, which is how
 * a leak shows. Client sockets in the same process (tests, the embedded stack) are not counted.
 *
 * werift has no hook for this, so the agent's two methods are wrapped on the instance, where werift
 * itself calls them through `this`. e2e/sfu/mediaSockets.test.ts compares the count with the kernel's
 * list of the process's sockets, so a werift upgrade that moves them fails there.
 */
export class MediaSockets {
  private readonly open = new Set<Socket>()
  private readonly watched = new WeakSet<object>()

  get count(): number {
    return this.open.size
  }

  /** Counts every socket `pc`'s ICE agents bind from now on (call it before gathering; idempotent). */
  watch(pc: RTCPeerConnection): void {
    for (const ice of pc.iceTransports) {
      const agent = ice.connection as unknown as IceAgentInternals
      if (this.watched.has(agent) || typeof agent.ensureProtocol !== 'function') continue
      this.watched.add(agent)
      const ensureProtocol = agent.ensureProtocol.bind(agent)
      agent.ensureProtocol = (protocol) => {
        this.watchProtocol(protocol)
        ensureProtocol(protocol)
      }
    }
  }

  private watchProtocol(protocol: ProtocolInternals): void {
    const connectionMade = protocol.connectionMade?.bind(protocol)
    if (!connectionMade) return
    protocol.connectionMade = async (...args) => {
      await connectionMade(...args)
      const socket = protocol.transport?.socket
      if (isBound(socket) && !this.open.has(socket)) {
        this.open.add(socket)
        socket.once('close', () => this.open.delete(socket))
      }
    }
  }
}

/** The werift (0.25) internals used here and by `boundSockets`. */
interface ProtocolInternals {
  connectionMade?: (...args: unknown[]) => Promise<void>
  transport?: { socket?: unknown }
}
interface IceAgentInternals {
  ensureProtocol?: (protocol: ProtocolInternals) => void
  protocols?: ProtocolInternals[]
}

/** The open (bound, not yet closed) sockets of `pc`'s ICE agents, as werift lists them now. */
export function boundSockets(pc: RTCPeerConnection): Socket[] {
  const sockets: Socket[] = []
  for (const ice of pc.iceTransports) {
    const agent = ice.connection as unknown as IceAgentInternals
    for (const protocol of agent.protocols ?? []) {
      const socket = protocol.transport?.socket
      if (isBound(socket)) sockets.push(socket)
    }
  }
  return sockets
}

function isBound(socket: unknown): socket is Socket {
  if (typeof socket !== 'object' || socket === null || !('address' in socket)) return false
  try {
    // dgram throws ERR_SOCKET_DGRAM_NOT_RUNNING for a socket that is not bound or already closed.
    ;(socket as Socket).address()
    return true
  } catch {
    return false
  }
}
