import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { SourceConfig, TargetConfig } from '../pipeline/connector-config.ts';
import { ApismithClient } from './apismith/client.ts';
import { ApismithSource } from './apismith/source.ts';
import { type ResolvedConnection, secretValuesOf } from './connections.ts';
import { ConnectorError } from './errors.ts';
import { CsvReader } from './file/csv-reader.ts';
import { JsonlReader } from './file/jsonl-reader.ts';
import { FileSource } from './file/source.ts';
import { type RateLimiter, TokenBucket } from './http/token-bucket.ts';
import { redactingLogger, silentLogger } from './logger.ts';
import { createPool } from './postgres/pool.ts';
import { PostgresSource } from './postgres/source.ts';
import { PostgresTarget } from './postgres/target.ts';
import { SchedulehubClient } from './schedulehub/client.ts';
import { SchedulehubTarget } from './schedulehub/target.ts';
import type { ConnectorContext, Source, Target } from './types.ts';

/**
 * Builds connectors from validated configuration (pipeline/connector-config.ts) and
 * the resolved connection it names (connectors/connections.ts). The logger
 * handed to a connector scrubs the connection's secret values, so nothing
 * downstream can print them. PostgreSQL pools come from the context's shared
 * registry when it has one (one bounded pool per connection per process).
 */
function configError(connector: string, message: string): ConnectorError {
  return new ConnectorError(message, { connector, operation: 'configure', code: 'config', transient: false });
}

function expect<T extends ResolvedConnection['type']>(
  connection: ResolvedConnection,
  type: T,
  user: string,
): Extract<ResolvedConnection, { type: T }> {
  if (connection.type !== type) {
    throw configError(
      user,
      `connection "${connection.name}" is a ${connection.type} connection; ${user} needs ${type}`,
    );
  }
  return connection as Extract<ResolvedConnection, { type: T }>;
}

function poolOf(connection: Extract<ResolvedConnection, { type: 'postgres' }>, ctx: ConnectorContext) {
  if (ctx.pools) return { pool: ctx.pools.get(connection), ownsPool: false };
  return { pool: createPool(connection.url, connection.maxConnections), ownsPool: true };
}

/** The cap on requests through a connection: shared by every worker when the context has shared limits, else local. */
function rateLimiterFor(connection: string, rpmCap: number, ctx: ConnectorContext): RateLimiter;
function rateLimiterFor(connection: string, rpmCap: number | undefined, ctx: ConnectorContext): RateLimiter | undefined;
function rateLimiterFor(connection: string, rpmCap: number | undefined, ctx: ConnectorContext) {
  if (rpmCap === undefined) return undefined;
  return ctx.rateLimiter?.limiter(connection, rpmCap) ?? new TokenBucket({ perMinute: rpmCap });
}

const loggerFor = (connection: ResolvedConnection, ctx: ConnectorContext) =>
  redactingLogger(ctx.logger ?? silentLogger, secretValuesOf(connection));

/**
 * The absolute path of `relative` under `root`, refusing anything that leaves the root, also through a
 * symbolic link (the parts that exist are resolved). A missing file is left for the reader to report.
 */
export function pathUnderRoot(root: string, relative: string): string {
  const realRoot = realpathOr(path.resolve(root));
  const joined = path.resolve(realRoot, relative);
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + path.sep);
  if (path.isAbsolute(relative) || !inside(joined) || !inside(realpathOr(joined))) {
    throw configError('file', `the path "${relative}" leaves the connection's folder`);
  }
  return joined;
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    // A missing leaf: resolve its nearest existing parent, so a linked parent folder is still seen.
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realpathOr(parent), path.basename(p));
  }
}

export function createSource(config: SourceConfig, connection: ResolvedConnection, ctx: ConnectorContext = {}): Source {
  switch (config.type) {
    case 'postgres': {
      const c = expect(connection, 'postgres', 'a postgres source');
      return new PostgresSource({
        ...poolOf(c, ctx),
        schema: config.schema,
        table: config.table,
        query: config.query,
        unknownTypes: config.unknownTypes,
        statementTimeoutMs: c.statementTimeoutMs,
        logger: loggerFor(c, ctx),
      });
    }
    case 'apismith': {
      const c = expect(connection, 'apismith', 'an apismith source');
      const logger = loggerFor(c, ctx);
      const client = new ApismithClient({
        baseUrl: c.baseUrl,
        credentials: { username: c.username, password: c.password },
        logger,
        tuning: ctx.http,
        rateLimiter: rateLimiterFor(c.name, config.rpmCap, ctx),
      });
      return new ApismithSource({
        client,
        apiSlug: config.apiSlug,
        params: config.params,
        unknownTypes: config.unknownTypes,
        logger,
      });
    }
    case 'file': {
      const c = expect(connection, 'files', 'a file source');
      const file = pathUnderRoot(c.root, config.path);
      const reader =
        config.format === 'csv'
          ? new CsvReader({
              path: file,
              delimiter: config.delimiter,
              encoding: config.encoding,
              columnTypes: config.columnTypes,
              invalidText: config.invalidText,
            })
          : new JsonlReader({
              path: file,
              encoding: config.encoding,
              columnTypes: config.columnTypes,
              sampleSize: config.sampleSize,
              invalidText: config.invalidText,
            });
      return new FileSource(file, reader);
    }
  }
}

export function createTarget(config: TargetConfig, connection: ResolvedConnection, ctx: ConnectorContext = {}): Target {
  switch (config.type) {
    case 'postgres': {
      const c = expect(connection, 'postgres', 'a postgres target');
      return new PostgresTarget({
        ...poolOf(c, ctx),
        schema: config.schema,
        table: config.table,
        logger: loggerFor(c, ctx),
      });
    }
    case 'schedulehub': {
      const c = expect(connection, 'schedulehub', 'a schedulehub target');
      const logger = loggerFor(c, ctx);
      const client = new SchedulehubClient({
        baseUrl: c.baseUrl,
        credentials: { username: c.username, password: c.password },
        rpmCap: config.rpmCap,
        rateLimiter: rateLimiterFor(c.name, config.rpmCap, ctx),
        logger,
        tuning: ctx.http,
      });
      return new SchedulehubTarget({ client, resource: config.resource, batchSize: config.batchSize, logger });
    }
  }
}
