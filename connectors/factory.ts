import { ApismithClient } from './apismith/client.ts';
import { ApismithSource } from './apismith/source.ts';
import { resolveSecret, type Secret, type SourceConfig, type TargetConfig } from './config.ts';
import { ConnectorError } from './errors.ts';
import { CsvReader } from './file/csv-reader.ts';
import { JsonlReader } from './file/jsonl-reader.ts';
import { FileSource } from './file/source.ts';
import { redactingLogger, silentLogger } from './logger.ts';
import { createPool } from './postgres/pool.ts';
import { PostgresSource } from './postgres/source.ts';
import { PostgresTarget } from './postgres/target.ts';
import { SchedulehubClient } from './schedulehub/client.ts';
import { SchedulehubTarget } from './schedulehub/target.ts';
import type { ConnectorContext, Source, Target } from './types.ts';

/**
 * Builds connectors from validated configuration (connectors/config.ts).
 * Secrets are resolved here, once, and the logger handed to the connector
 * scrubs their values, so nothing downstream can print them.
 */
function secrets(ctx: ConnectorContext, connector: string) {
  const resolved: string[] = [];
  const read = (secret: Secret) => {
    try {
      const value = resolveSecret(secret, ctx.env);
      resolved.push(value);
      return value;
    } catch (cause) {
      throw new ConnectorError((cause as Error).message, {
        connector,
        operation: 'configure',
        code: 'config',
        transient: false,
        cause,
      });
    }
  };
  return { read, logger: () => redactingLogger(ctx.logger ?? silentLogger, resolved) };
}

function connectionUrl(
  connection: { url: Secret } | undefined,
  ctx: ConnectorContext,
  read: (s: Secret) => string,
): string {
  if (connection) return read(connection.url);
  if (!ctx.databaseUrl) {
    throw new ConnectorError('no connection given and no default database URL in the context', {
      connector: 'postgres',
      operation: 'configure',
      code: 'config',
      transient: false,
    });
  }
  return ctx.databaseUrl;
}

export function createSource(config: SourceConfig, ctx: ConnectorContext = {}): Source {
  const { read, logger } = secrets(ctx, config.type);
  switch (config.type) {
    case 'postgres': {
      const url = connectionUrl(config.connection, ctx, read);
      return new PostgresSource({
        pool: createPool(url),
        schema: config.schema,
        table: config.table,
        query: config.query,
        unknownTypes: config.unknownTypes,
        logger: logger(),
        ownsPool: true,
      });
    }
    case 'apismith': {
      const credentials = { username: read(config.auth.username), password: read(config.auth.password) };
      const log = logger();
      const client = new ApismithClient({ baseUrl: config.baseUrl, credentials, logger: log, tuning: ctx.http });
      return new ApismithSource({
        client,
        apiSlug: config.apiSlug,
        params: config.params,
        unknownTypes: config.unknownTypes,
        logger: log,
      });
    }
    case 'file': {
      const reader =
        config.format === 'csv'
          ? new CsvReader({
              path: config.path,
              delimiter: config.delimiter,
              encoding: config.encoding,
              columnTypes: config.columnTypes,
            })
          : new JsonlReader({
              path: config.path,
              encoding: config.encoding,
              columnTypes: config.columnTypes,
              sampleSize: config.sampleSize,
            });
      return new FileSource(config.path, reader);
    }
  }
}

export function createTarget(config: TargetConfig, ctx: ConnectorContext = {}): Target {
  const { read, logger } = secrets(ctx, config.type);
  switch (config.type) {
    case 'postgres': {
      const url = connectionUrl(config.connection, ctx, read);
      return new PostgresTarget({
        pool: createPool(url),
        schema: config.schema,
        table: config.table,
        logger: logger(),
        ownsPool: true,
      });
    }
    case 'schedulehub': {
      const credentials = { username: read(config.auth.username), password: read(config.auth.password) };
      const log = logger();
      const client = new SchedulehubClient({
        baseUrl: config.baseUrl,
        credentials,
        rpmCap: config.rpmCap,
        logger: log,
        tuning: ctx.http,
      });
      return new SchedulehubTarget({ client, resource: config.resource, batchSize: config.batchSize, logger: log });
    }
  }
}
