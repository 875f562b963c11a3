/**
 * An in-page stand-in for the host (window.pinhole + the media port), for the loopback test: it plays the
 * engine's event sequence of a proxy join and sends every encoded frame straight back as a remote user's
 * (uid 99), so the renderer's capture → encode → port → decode → canvas/worklet path runs in Chromium with
 * no engine. Plain JS for page.addInitScript. `window.__fake` exposes what the page sent, and `down(message)`
 * posts a MediaDown to the page once it has its port.
 */
export const LOOPBACK_UID = 99

/** The stand-in host as a script; `settings` overrides its AppSettings (e.g. `locked`, `notes`). */
export function fakeBridge(settings: Record<string, unknown> = {}): string {
  return `(${FAKE_BRIDGE})(${JSON.stringify(settings)})`
}

const FAKE_BRIDGE = `((overrides) => {
  const listeners = new Map()
  const calls = []
  const up = { video: 0, audio: 0, keyFrames: 0, keyFrameRequests: 0 }
  const emit = (name, ...args) => (listeners.get(name) || []).slice().forEach((l) => l(...args))
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
  const settings = {
    cloudProxy: 1, allowedProxyModes: [0, 1, 2, 3], activeCloudProxy: null, region: 'auto', connectionState: 1, channel: 'loop', uid: 0,
    embedded: true, locked: [], devices: {}, notes: [],
    regions: [{ id: 'local', name: 'This computer', proxyHost: '127.0.0.1', ports: { udp: [3478, 7070], tcp: 4443 } }],
    ...overrides,
  }
  let stats = null
  const ok = (value) => Promise.resolve({ ok: true, value })
  const record = (name, args) => calls.push([name, ...args])
  const setState = (state, reason) => { settings.connectionState = state; emit('connectionStateChanged', state, reason) }
  window.pinhole = {
    on(name, listener) {
      const list = listeners.get(name) || []
      list.push(listener)
      listeners.set(name, list)
      return () => listeners.set(name, (listeners.get(name) || []).filter((l) => l !== listener))
    },
    setCloudProxy(type) { record('setCloudProxy', [type]); settings.cloudProxy = type; return ok(0) },
    setRegion(region) { record('setRegion', [region]); settings.region = region; return ok(0) },
    async joinChannel(token, channel, uid) {
      record('joinChannel', [token, channel, uid])
      settings.channel = channel
      settings.uid = uid
      setState(2, 5)
      await sleep(30)
      const transport = settings.cloudProxy === 2 ? 'tls' : 'udp'
      emit('proxyConnected', { type: settings.cloudProxy, regionId: 'local', transport, elapsedMs: 12, attempts: [],
        proxyAddress: transport === 'tls' ? '127.0.0.1:4443' : '127.0.0.1:3478' })
      setState(2, 13)
      await sleep(30)
      settings.activeCloudProxy = settings.cloudProxy
      setState(3, 6)
      emit('joinChannel', 0, channel, uid, 75)
      emit('userJoined', ${LOOPBACK_UID})
      emit('userVideoStart', ${LOOPBACK_UID})
      emit('userAudioStart', ${LOOPBACK_UID})
      stats = setInterval(() => emit('rtcStats', { transport, proxyAddress: '127.0.0.1:3478', rttMs: 4,
        rttSource: 'ice', txKbps: 700, rxKbps: 690, txPacketLoss: 0, rxPacketLoss: 0.002, txVideoFps: 30,
        rxVideoFps: 29, durationSeconds: 1 }), 500)
      return { ok: true, value: 0 }
    },
    async leaveChannel() {
      record('leaveChannel', [])
      clearInterval(stats)
      settings.activeCloudProxy = null
      setState(1, 1)
      emit('leaveChannel', 0)
      return { ok: true, value: 0 }
    },
    enableLocalAudio(on) { record('enableLocalAudio', [on]); return ok(0) },
    enableLocalVideo(on) { record('enableLocalVideo', [on]); return ok(0) },
    getSettings() { return ok(JSON.parse(JSON.stringify(settings))) },
    setDevices(devices) { record('setDevices', [devices]); settings.devices = devices; return ok(0) },
    probeRegions() {
      const result = { regionId: 'local', reachable: true, rttMs: 3, checks: [] }
      emit('regionProbe', result)
      return ok([result])
    },
    runNetworkCheck() {
      record('runNetworkCheck', [])
      return ok({ startedAt: new Date().toISOString(), durationMs: 5, ok: true, regions: [],
        summary: 'All 0 whitelisted endpoints answer.' })
    },
    exportDiagnostics() { record('exportDiagnostics', []); return ok('/tmp/pinhole-diagnostics-fake.json') },
    setLanguage(language) {
      record('setLanguage', [language])
      if (language === null) delete settings.language
      else settings.language = language
      return ok(0)
    },
    getDevToken(channel, uid) { record('getDevToken', [channel, uid]); return ok('dev-' + channel + '-' + uid) },
    prepareJoin(token, channel, uid) { record('prepareJoin', [token, channel, uid]); return ok(0) },
    connectMedia() {
      const channel = new MessageChannel()
      channel.port2.onmessage = (event) => {
        const m = event.data
        // The page asks for a key frame of the remote user's video (its decoder failed): counted, not looped.
        if (m.kind === 'keyFrameRequest') return void up.keyFrameRequests++
        up[m.kind]++
        if (m.kind === 'video' && m.keyFrame) up.keyFrames++
        // A key frame request for the loopback user: there is no sender behind it to ask.
        if (settings.connectionState !== 3 || (m.kind !== 'video' && m.kind !== 'audio')) return
        const down = m.kind === 'video'
          ? { kind: 'remoteVideo', uid: ${LOOPBACK_UID}, data: m.data, timestampUs: m.timestampUs, keyFrame: m.keyFrame }
          : { kind: 'remoteAudio', uid: ${LOOPBACK_UID}, data: m.data, timestampUs: m.timestampUs }
        channel.port2.postMessage(down, [m.data])
      }
      // What the engine would post down besides frames (a send target, a key frame request).
      window.__fake.down = (message) => channel.port2.postMessage(message)
      window.postMessage({ type: 'pinhole:media-port' }, '*', [channel.port1])
      return ok(0)
    },
  }
  window.__fake = { calls, up, emit }
})`
