import type pg from 'pg';
import type { ResolvedConnection } from './connections.ts';
import { createPool } from './postgres/pool.ts';

/**
 * One bounded pool per PostgreSQL connection per process, shared by every entity's source and targets and
 * by health checks, so the number of database connections SyncFlow opens never grows with the number of
 * entities or requests. A connection whose URL or size changed gets a new pool; the old one is ended.
 * Connectors take it through their context (ConnectorContext.pools, connectors/types.ts).
 */
export class PoolRegistry {
  private readonly pools = new Map<string, { key: string; pool: pg.Pool }>();

  get(connection: Extract<ResolvedConnection, { type: 'postgres' }>): pg.Pool {
    const key = `${connection.url}\n${connection.maxConnections}`;
    const existing = this.pools.get(connection.name);
    if (existing?.key === key) return existing.pool;
    if (existing) void existing.pool.end().catch(() => {});
    const pool = createPool(connection.url, connection.maxConnections);
    this.pools.set(connection.name, { key, pool });
    return pool;
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.pool.end().catch(() => {})));
  }
}
