import { startOurProxy } from '../support/ourProxy'
import { defineTurnInteropSuite } from './suite'

// The same checks coturn passes (coturn-reference.test.ts), against Pinhole's proxy as IT would run it.
defineTurnInteropSuite('pinhole proxy', () => startOurProxy())
