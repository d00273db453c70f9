import { ConnectionSecretError } from '../connectors/connections.ts';
import { createSource, createTarget } from '../connectors/factory.ts';
import { connectorLogger } from '../connectors/logger.ts';
import { PoolRegistry } from '../connectors/pools.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import { loadResolvedConnection } from '../db/connections.ts';
import type { StoredEntity } from '../db/entities.ts';
import type { Prisma } from '../db/prisma.ts';
import { type ProbeResult, probe } from './probe.ts';

/**
 * The health of an entity's source and each of its targets, through the
 * connectors' own health(). A connector that cannot even be built (an
 * unknown connection, an unset secret variable) is reported unhealthy with
 * the reason, never thrown.
 *
 * Health must do no harm to what it watches: PostgreSQL connectors share one
 * bounded pool per connection (never a pool per entity per call), at most
 * MAX_CONCURRENT probes run at once, concurrent callers share one probe, and
 * a result is reused for CACHE_MS, so any number of calls opens a fixed
 * number of connections.
 */
export interface ConnectorHealthResult extends ProbeResult {
  type: string;
}

export interface EntityHealth {
  name: string;
  source: ConnectorHealthResult;
  targets: Array<ConnectorHealthResult & { name: string; role: string }>;
}

const CACHE_MS = 5_000;
const MAX_CONCURRENT = 4;
const PROBE_TIMEOUT_MS = 5_000;

/** A counting semaphore: at most `max` tasks run at once, the rest wait in order. */
function limiter(max: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

type Connector = { health(): Promise<{ ok: boolean; detail?: string }>; close(): Promise<void> };

export class ConnectorHealthChecker {
  private readonly pools = new PoolRegistry();
  private readonly cache = new Map<string, { at: number; result: Promise<EntityHealth> }>();
  private readonly limit = limiter(MAX_CONCURRENT);

  constructor(private readonly deps: { prisma: Prisma; secrets: SecretBox }) {}

  entity(entity: StoredEntity): Promise<EntityHealth> {
    const key = `${entity.name}@${entity.configVersion}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.result;
    const result = this.check(entity);
    this.cache.set(key, { at: Date.now(), result });
    return result;
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.pools.closeAll();
  }

  private async check(entity: StoredEntity): Promise<EntityHealth> {
    const { source, targets } = entity.config;
    const ctx = { pools: this.pools, logger: connectorLogger() };
    const [sourceHealth, ...targetHealth] = await Promise.all([
      this.probe(source.type, source.connection, (c) => createSource(source, c, ctx)),
      ...targets.map((t) => this.probe(t.type, t.connection, (c) => createTarget(t, c, ctx))),
    ]);
    return {
      name: entity.name,
      source: sourceHealth!,
      targets: targets.map((t, i) => ({ name: t.name, role: t.role, ...targetHealth[i]! })),
    };
  }

  private probe(
    type: string,
    connectionName: string,
    build: (c: NonNullable<Awaited<ReturnType<typeof loadResolvedConnection>>>) => Connector,
  ): Promise<ConnectorHealthResult> {
    return this.limit(async () => {
      let connector: Connector | undefined;
      const result = await probe(async () => {
        let connection: Awaited<ReturnType<typeof loadResolvedConnection>>;
        try {
          connection = await loadResolvedConnection(this.deps.prisma, connectionName, this.deps.secrets);
        } catch (error) {
          if (error instanceof ConnectionSecretError) throw error;
          throw new Error(`connection "${connectionName}" could not be read`);
        }
        if (!connection) throw new Error(`no connection named "${connectionName}"`);
        connector = build(connection);
        const health = await connector.health();
        if (!health.ok) throw new Error(health.detail ?? 'unhealthy');
      }, PROBE_TIMEOUT_MS);
      await connector?.close().catch(() => undefined);
      return { type, ...result };
    });
  }
}
