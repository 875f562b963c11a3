import { startOurProxy } from '../support/ourProxy'
import { defineTurnInteropSuite } from './suite'

// The same checks coturn passes (coturn-reference.test.ts), against Pinhole's proxy as IT would run it,
// with UDP on the native ChannelData fast path: `proxy.fastPath: native` (set through the environment
// the proxy process inherits) makes it refuse to start without the addon (`npm run build:native`), so
// this suite cannot pass on the JS path by accident. The JS path has its own tests
// (src/proxy/turn/node/fastPath.test.ts runs each case on both).
defineTurnInteropSuite('pinhole proxy (native fast path)', async () => {
  const key = 'PINHOLE__proxy__fastPath'
  const previous = process.env[key]
  process.env[key] = 'native'
  try {
    return await startOurProxy()
  } finally {
    if (previous === undefined) delete process.env[key]
    else process.env[key] = previous
  }
})
