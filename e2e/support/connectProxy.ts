/**
 * Test-only: a tiny HTTP CONNECT proxy on loopback (what a corporate web proxy does for port 443), with
 * optional basic auth, a refusal hook and a redirect hook (to play a TLS-intercepting proxy).
 */
import { connect, createServer, type Socket } from 'node:net'

export interface ConnectProxyOptions {
  /** Basic auth required when set (407 without or with wrong credentials). */
  user?: { username: string; password: string }
  /** What wrong (not missing) credentials get: 407 (default), or 401 as tinyproxy answers. */
  wrongCredentialsStatus?: 401 | 407
  /** A status to refuse a target with (e.g. 403), or undefined to tunnel it. */
  refuse?: (target: string) => number | undefined
  /** Where to really connect for a target (default: the target itself). */
  redirect?: (host: string, port: number) => { host: string; port: number }
}

export interface ConnectProxy {
  port: number
  /** Every CONNECT target asked for, in order (`host:port`), including refused ones. */
  requests: string[]
  /** Tunnels opened (2xx answered). */
  tunnels(): number
  close(): Promise<void>
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  let tunnels = 0
  const expected =
    options.user &&
    `Basic ${Buffer.from(`${options.user.username}:${options.user.password}`).toString('base64')}`
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => client.destroy())
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      client.off('data', onData)
      const lines = head.subarray(0, end).toString('latin1').split('\r\n')
      const rest = head.subarray(end + 4)
      const [method, target = ''] = lines[0]!.split(' ')
      requests.push(target)
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, '')
      const answer = (status: string): void =>
        void client.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\n\r\n`)
      if (method !== 'CONNECT') return answer('405 Method Not Allowed')
      if (expected && auth !== undefined && auth !== expected && options.wrongCredentialsStatus === 401) {
        return answer('401 Unauthorized')
      }
      if (expected && auth !== expected) {
        return void client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n' +
            'Content-Length: 0\r\n\r\n',
        )
      }
      const refused = options.refuse?.(target)
      if (refused !== undefined) return answer(`${refused} Refused`)
      const split = target.lastIndexOf(':')
      const wanted = {
        host: target.slice(0, split).replace(/^\[|\]$/g, ''),
        port: Number(target.slice(split + 1)),
      }
      const to = options.redirect?.(wanted.host, wanted.port) ?? wanted
      const upstream = connect(to.port, to.host)
      sockets.add(upstream)
      upstream.on('close', () => (sockets.delete(upstream), client.destroy()))
      upstream.on('error', () => (upstream.destroy(), client.destroy()))
      client.on('close', () => upstream.destroy())
      upstream.once('connect', () => {
        tunnels++
        client.write('HTTP/1.1 200 Connection established\r\n\r\n')
        if (rest.length > 0) upstream.write(rest)
        client.pipe(upstream).pipe(client)
      })
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests,
    tunnels: () => tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
