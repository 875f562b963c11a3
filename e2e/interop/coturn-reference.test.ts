import { startCoturnUnderTest } from '../support/coturn'
import { defineTurnInteropSuite } from './suite'

// coturn proves the harness: every check here must pass against the reference before it can judge ours.
defineTurnInteropSuite('coturn (reference)', () => startCoturnUnderTest({ name: 'coturn' }))
