import { pino } from 'pino'
import type { Registry } from 'prom-client'
import { mintJoinToken } from '../../src/protocol/auth/joinToken'
import type { MediaKind } from '../../src/shared/signaling'
import { ConferenceServer, type SfuApp, type SfuConfigInput, SfuConfigSchema } from '../../src/sfu'
import { type ClientOptions, TestClient } from './client'

export const APP = { appKey: 'test-app', secret: 'test-secret-0123456789abcdef' }

export interface Sfu {
  server: ConferenceServer
  url: string
  token: (
    channel: string,
    uid: number,
    /** `app`: whose token (default APP); `secret`: sign with another secret (a forged token). */
    options?: { ttlSeconds?: number; secret?: string; now?: number; app?: SfuApp },
  ) => Promise<string>
  join: (channel: string, uid: number, options?: Partial<ClientOptions>) => Promise<TestClient>
  connect: (channel: string, uid: number, options?: Partial<ClientOptions>) => Promise<TestClient>
}

/** A conference server on a free loopback port, with `apps` (one by default) and quiet logs (PINHOLE_TEST_LOG=debug). */
export async function startSfu(
  overrides: SfuConfigInput = {},
  apps: readonly SfuApp[] = [APP],
): Promise<Sfu> {
  const config = SfuConfigSchema.parse({ enabled: true, port: 0, ...overrides })
  const logger = pino({ level: process.env.PINHOLE_TEST_LOG ?? 'silent' })
  const server = await ConferenceServer.start(config, { apps, logger })
  const url = `ws://127.0.0.1:${server.port}/v1/signal`
  const token: Sfu['token'] = (channel, uid, options = {}) =>
    mintJoinToken({
      appKey: (options.app ?? APP).appKey,
      secret: options.secret ?? (options.app ?? APP).secret,
      channel,
      uid,
      ttlSeconds: options.ttlSeconds ?? 60,
      ...(options.now === undefined ? {} : { now: options.now }),
    })
  const options = async (
    channel: string,
    uid: number,
    extra: Partial<ClientOptions> = {},
  ): Promise<ClientOptions> => ({
    url,
    token: await token(channel, uid),
    channel,
    uid,
    ...extra,
  })
  return {
    server,
    url,
    token,
    join: async (channel, uid, extra) => TestClient.join(await options(channel, uid, extra)),
    connect: async (channel, uid, extra) => TestClient.connect(await options(channel, uid, extra)),
  }
}

/** One sample of a metric in the server's registry (0 when absent). */
export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === `pinhole_sfu_${name}`)
  const value = found?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
  return value?.value ?? 0
}

/** True when `client` has received intact packets of `kind` from `uid`. */
export function receives(client: TestClient, uid: number, kind: MediaKind, atLeast = 1): boolean {
  const track = client.received.get(`${uid}:${kind}`)
  return track !== undefined && track.counters.size >= atLeast
}

export async function closeAll(clients: TestClient[], sfu?: Sfu): Promise<void> {
  await Promise.all(clients.map((c) => c.close()))
  await sfu?.server.close()
}
