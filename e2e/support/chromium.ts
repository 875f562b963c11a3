import { createHash, X509Certificate } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { RTCPeerConnection } from 'werift'
import type { RTCDataChannel } from 'werift'
import { requireTool } from './tools'
import { weriftRelayConfig } from './weriftPeers'
import type { WeriftTurnOptions } from './weriftPeers'

/**
 * The flags every test Chromium starts with: Debian Chromium as root, no GPU, and none of the background
 * connections this machine's closed network would refuse.
 */
export function chromiumBaseArgs(): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ]
}

// Loopback TURN: Chromium 156 (Debian) accepts a TURN server on 127.0.0.1 over udp, tcp and tls and gathers a
// relay candidate on 127.0.0.1 (raddr 0.0.0.0 under relay policy) with no extra flag, and the pair through
// coturn's loopback relay connects; with relay policy it emits no host or `.local` candidates. Measured here.
export const CHROMIUM_ARGS = [...chromiumBaseArgs(), '--disable-quic']

/**
 * Chromium verifies a TURN server's TLS certificate and does not use playwright's ignoreHTTPSErrors for it
 * (turns: with a self-signed certificate fails gathering with icecandidateerror 701). Pinning the server's
 * public key with --ignore-certificate-errors-spki-list does apply to TURN-over-TLS: pass these args.
 */
export function chromiumSpkiPinArgs(certPem: string): string[] {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return [`--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`]
}

/** Debian Chromium through playwright-core (throws MissingToolError when /usr/bin/chromium is absent). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: requireTool('chromium'), args: [...CHROMIUM_ARGS, ...extraArgs] })
}

export interface TestPageServer {
  /** http://127.0.0.1:PORT/ — a secure context (loopback), unlike file://. */
  url: string
  close(): Promise<void>
}

// The page side of the signaling. Plain JS: the node tsconfig has no DOM types; page.evaluate calls reach it
// through globalThis.pinhole (typed by PageApi below).
const PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<title>pinhole interop</title>
<script>
const state = { pc: null, dc: null, received: [], opened: null, candidateErrors: [] }
window.pinhole = {
  async offer(iceServer) {
    const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: 'relay', bundlePolicy: 'max-bundle' })
    state.pc = pc
    pc.onicecandidateerror = (e) => state.candidateErrors.push(e.errorCode + ' ' + e.errorText + ' ' + e.url)
    const dc = pc.createDataChannel('interop')
    state.dc = dc
    dc.onmessage = (e) => state.received.push(String(e.data))
    state.opened = new Promise((resolve) => { dc.onopen = resolve })
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve()
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve() })
    })
    return pc.localDescription.sdp
  },
  async answer(sdp) {
    await state.pc.setRemoteDescription({ type: 'answer', sdp })
  },
  async send(text) {
    await state.opened
    state.dc.send(text)
  },
  async nextMessage(timeoutMs) {
    const deadline = Date.now() + timeoutMs
    while (state.received.length === 0) {
      if (Date.now() > deadline) throw new Error('no data-channel message within ' + timeoutMs + ' ms')
      await new Promise((r) => setTimeout(r, 10))
    }
    return state.received.shift()
  },
  status() {
    const pc = state.pc
    return {
      connectionState: pc ? pc.connectionState : 'none',
      iceConnectionState: pc ? pc.iceConnectionState : 'none',
      sctpState: pc && pc.sctp ? pc.sctp.state : 'none',
      dataChannelState: state.dc ? state.dc.readyState : 'none',
      candidateErrors: state.candidateErrors.slice(),
    }
  },
  close() {
    if (state.pc) state.pc.close()
  },
}
</script>
<body>pinhole interop</body>`

/** Serves the signaling page on 127.0.0.1 (port 0: the kernel picks). */
export async function serveTestPage(): Promise<TestPageServer> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(PAGE_HTML)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

interface PageStatus {
  connectionState: string
  iceConnectionState: string
  sctpState: string
  dataChannelState: string
  candidateErrors: string[]
}

interface PageApi {
  offer(iceServer: ChromiumIceServer): Promise<string>
  answer(sdp: string): Promise<void>
  send(text: string): Promise<void>
  nextMessage(timeoutMs: number): Promise<string>
  status(): PageStatus
  close(): void
}
type PageGlobal = { pinhole: PageApi }

export interface ChromiumIceServer {
  urls: string
  username: string
  credential: string
}

export interface ChromiumToWeriftOptions {
  /** The one ICE server Chromium gets, with iceTransportPolicy 'relay'. */
  iceServer: ChromiumIceServer
  /** werift's TURN server; default: the same URL and credentials (pass turnTlsCa for turns:). */
  werift?: WeriftTurnOptions
  /** Reuse a browser; default: launch one and close it afterwards. */
  browser?: Browser
  timeoutMs?: number
}

export interface ChromiumToWeriftResult {
  /** What werift received from Chromium and vice versa. */
  receivedByWerift: string
  receivedByChromium: string
  /** Chromium's `a=candidate` lines (relay only expected) and how many `.local` ones were stripped. */
  chromiumCandidates: string[]
  strippedMdnsCandidates: number
  candidateErrors: string[]
  timings: {
    offerGatheredMs: number
    answeredMs: number
    /** werift received Chromium's message: ICE, DTLS and SCTP are up on both ends. */
    weriftConnectedMs: number
    /**
     * werift's first message to Chromium. With werift as DTLS client this took ≈ 1 s in most runs (an SCTP
     * retransmission after the INIT race described in chromiumToWeriftDataChannel); as DTLS server, 5–60 ms.
     */
    weriftToChromiumMs: number
    roundTripDoneMs: number
  }
}

/** werift resolves `.local` names by multicast DNS whatever its policy: drop them before it sees them. */
export function stripMdnsCandidates(sdp: string): { sdp: string; stripped: number } {
  const lines = sdp.split('\r\n')
  const kept = lines.filter((line) => !/^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(line))
  return { sdp: kept.join('\r\n'), stripped: lines.length - kept.length }
}

function weriftChannel(pc: RTCPeerConnection): Promise<RTCDataChannel> {
  return new Promise((resolve) => pc.onDataChannel.subscribe((channel) => resolve(channel)))
}

function firstMessage(channel: RTCDataChannel): Promise<string> {
  return new Promise((resolve) => {
    const { unSubscribe } = channel.onMessage.subscribe((data) => {
      unSubscribe()
      resolve(String(data))
    })
  })
}

async function withTimeout<T>(work: Promise<T>, ms: number, describe: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms)
  })
  try {
    const outcome = await Promise.race([work, timeout])
    if (outcome === 'timeout') throw new Error(`timed out after ${ms} ms: ${await describe()}`)
    return outcome
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Chromium (offerer, relay-only through `iceServer`) ↔ werift in this process (answerer, relay-only):
 * one data-channel message each way. Signaling goes through page.evaluate.
 */
export async function chromiumToWeriftDataChannel(
  options: ChromiumToWeriftOptions,
): Promise<ChromiumToWeriftResult> {
  const timeoutMs = options.timeoutMs ?? 20_000
  const weriftTurn = options.werift ?? {
    turnUrl: options.iceServer.urls,
    username: options.iceServer.username,
    credential: options.iceServer.credential,
  }
  const site = await serveTestPage()
  const browser = options.browser ?? (await launchChromium())
  const context = await browser.newContext()
  const werift = new RTCPeerConnection(weriftRelayConfig(weriftTurn))
  const start = performance.now()
  const since = (): number => Math.round(performance.now() - start)
  try {
    // Closing the context closes the page and its RTCPeerConnection.
    const openPage = await context.newPage()
    await openPage.goto(site.url)
    let stage = 'gathering the offer'
    const describe = async (): Promise<string> => {
      const status = await openPage.evaluate(() => (globalThis as unknown as PageGlobal).pinhole.status())
      const dtls = werift.dtlsTransports.map((t) => t.state).join(',')
      return (
        `stuck ${stage}; chromium ${JSON.stringify(status)}; werift ${werift.connectionState} ` +
        `(ice ${werift.iceConnectionState}, dtls ${dtls})`
      )
    }
    return await withTimeout(
      (async (): Promise<ChromiumToWeriftResult> => {
        const channelPromise = weriftChannel(werift)
        const offerSdp = await openPage.evaluate(
          (server) => (globalThis as unknown as PageGlobal).pinhole.offer(server),
          options.iceServer,
        )
        const offerGatheredMs = since()
        stage = 'werift answering'
        const { sdp, stripped } = stripMdnsCandidates(offerSdp)
        await werift.setRemoteDescription({ type: 'offer', sdp })
        // werift answers a=setup:active (DTLS client); Chromium, the DTLS server, then sends its SCTP INIT in
        // the same burst as its Finished, and werift may answer it before its SCTP transport has started:
        // measured against coturn, 1 run in 4 over TURN/TCP never completed the association (werift never
        // processed a COOKIE-ECHO) and most others stalled ~1 s. As the DTLS server werift starts SCTP one
        // round trip before Chromium's INIT arrives: 0 failures in 36 runs (udp, tcp, tls), no stall.
        const answerInit = await werift.createAnswer()
        await werift.setLocalDescription({
          type: 'answer',
          sdp: answerInit.sdp.replace(/a=setup:active/g, 'a=setup:passive'),
        })
        await new Promise<void>((resolve) => {
          if (werift.iceGatheringState === 'complete') return resolve()
          werift.iceGatheringStateChange.subscribe((state) => state === 'complete' && resolve())
        })
        const answer = werift.localDescription
        if (!answer) throw new Error('werift has no local description')
        stage = 'answering'
        await openPage.evaluate(
          (text) => (globalThis as unknown as PageGlobal).pinhole.answer(text),
          answer.sdp,
        )
        const answeredMs = since()
        stage = 'waiting for the data channel at werift'
        const channel = await channelPromise
        stage = 'waiting for the message from chromium'
        const fromChromium = firstMessage(channel)
        await openPage.evaluate(
          (text) => (globalThis as unknown as PageGlobal).pinhole.send(text),
          'hello from chromium',
        )
        const receivedByWerift = await fromChromium
        const weriftConnectedMs = since()
        if (channel.readyState !== 'open') {
          await new Promise<void>((resolve) =>
            channel.stateChanged.subscribe((s) => s === 'open' && resolve()),
          )
        }
        stage = 'waiting for the message from werift'
        const weriftSentMs = since()
        channel.send('hello from werift')
        const receivedByChromium = await openPage.evaluate(
          (ms) => (globalThis as unknown as PageGlobal).pinhole.nextMessage(ms),
          timeoutMs,
        )
        const status = await openPage.evaluate(() => (globalThis as unknown as PageGlobal).pinhole.status())
        return {
          receivedByWerift,
          receivedByChromium,
          chromiumCandidates: offerSdp.split(/\r?\n/).filter((line) => line.startsWith('a=candidate:')),
          strippedMdnsCandidates: stripped,
          candidateErrors: status.candidateErrors,
          timings: {
            offerGatheredMs,
            answeredMs,
            weriftConnectedMs,
            weriftToChromiumMs: Math.max(0, since() - weriftSentMs),
            roundTripDoneMs: since(),
          },
        }
      })(),
      timeoutMs,
      describe,
    )
  } finally {
    await werift.close()
    await context.close()
    if (!options.browser) await browser.close()
    await site.close()
  }
}
