import { defineConfig } from 'vitest/config'

/**
 * Tests whose pass/fail depends on having the machine to themselves: turnutils_uclient counts a message as
 * lost when it comes back late (TLS especially), and the browser tests run two Chromiums with WebCodecs.
 * On our 2-core machines they flaked when paired with another heavy file, so they run in a second group,
 * one file at a time, after everything else (Vitest's sequence.groupOrder).
 */
const EXCLUSIVE = [
  'e2e/interop/**/*.test.ts',
  'e2e/browser/**/*.test.ts',
  'e2e/app/webhost.test.ts',
  // Adaptive media (docs/media.md): Chromium encoders, shaped and delayed links, measured rates.
  'e2e/media/**/*.test.ts',
  'e2e/lab/linkEmulator.test.ts',
  // The conference cluster behind the firewall (issue 14): Redis, two nodes, a proxy, four desktops' engines.
  'e2e/lab/cluster.test.ts',
  // Round trips counted over the link emulator (join timing under a 200 ms RTT).
  'e2e/lab/tlsRoundTrips.test.ts',
  // The meeting app (issue 13): several Chromiums per test, real devices' stand-ins, PulseAudio.
  'e2e/meeting/**/*.test.ts',
]

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: integration tests open real sockets and child processes; keep the pool small.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['src/**/*.test.ts', 'e2e/**/*.test.ts'],
          exclude: EXCLUSIVE,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'exclusive',
          include: EXCLUSIVE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
