import { ApplicationFailure } from '@temporalio/activity';
import { ConnectionSecretError, type ResolvedConnection } from '../connectors/connections.ts';
import { createSource, createTarget } from '../connectors/factory.ts';
import type { RateLimiterFactory } from '../connectors/http/token-bucket.ts';
import { connectorLogger } from '../connectors/logger.ts';
import { PoolRegistry } from '../connectors/pools.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import type { Source, Target, TargetField } from '../connectors/types.ts';
import { connectionStamps, loadResolvedConnection } from '../db/connections.ts';
import { EntityConfigUnreadableError, getEntity, type StoredEntity } from '../db/entities.ts';
import type { Prisma } from '../db/prisma.ts';
import type { SourceConfig, TargetConfig } from '../pipeline/connector-config.ts';
import { resolveDeclaredType } from '../pipeline/declared-type.ts';
import { createSourceScreen, type SourceScreen } from '../pipeline/delta/unchanged-source.ts';
import type { EntityConfig } from '../pipeline/entity-config.ts';
import { type IdentityHashers, identityHashers } from '../pipeline/identity/hashers.ts';
import { createIdentityComputer, type IdentityComputer } from '../pipeline/identity/identity.ts';
import { createSourceKeyReader, type SourceKeyReader } from '../pipeline/identity/source-key.ts';
import { createNormalizer, type Normalizer } from '../pipeline/normalize/engine.ts';
import { createParentResolver, type ParentResolver } from '../pipeline/resolve/parents.ts';
import { createRowValidator, type RowValidator } from '../pipeline/validate/validator.ts';

/**
 * Everything a worker builds once per entity configuration and reuses for
 * every page: the compiled pipeline (normalizer, validator, identity), the
 * parent resolver, and open connectors (pools, HTTP sessions).
 */
export interface EntityRuntime {
  stored: StoredEntity;
  config: EntityConfig;
  normalizer: Normalizer;
  validator: RowValidator;
  identity: IdentityComputer;
  hashers: IdentityHashers;
  /** Source hashes and key-only bk_hashes of raw rows: how NORMALIZE sets aside rows unchanged since the last sync. */
  screen: SourceScreen;
  /** A raw row's business key as read from the source (`field=value|…`): names a DLQ row that has no identity. */
  sourceKey: SourceKeyReader;
  /** Null when the entity has no parents. */
  parents: ParentResolver | null;
  /** Parent entity → the name of its primary target (where its identities live). */
  parentPrimary: Map<string, string>;
  primary: TargetConfig;
  /** Source columns to order a full read by (the business key's sources). */
  keyColumns: string[];
  rowversionColumn: string | undefined;
  sourceSystem: string;
  targetFields: TargetField[];
  /** Connection name → the version this runtime's connectors were built from. */
  connectionVersions: Map<string, number>;
  source(): Source;
  target(name: string): Target;
  close(): Promise<void>;
}

export const primaryTargetOf = (config: Pick<EntityConfig, 'targets'>): TargetConfig =>
  config.targets.find((t) => t.role === 'primary') ?? config.targets[0]!;

/** Where the watermark of erp_sync_state belongs: a new source means a new watermark. */
export function sourceSystemOf(source: SourceConfig): string {
  switch (source.type) {
    case 'postgres':
      return `postgres:${source.schema}.${source.table ?? 'query'}`;
    case 'apismith':
      return `apismith:${source.apiSlug}`;
    case 'file':
      return `file:${source.path}`;
  }
}

export const configChanged = (name: string) =>
  ApplicationFailure.nonRetryable(
    `The configuration of "${name}" changed while its sync ran; start the sync again.`,
    'EntityConfigChanged',
  );

/** How often a cached runtime checks whether its connections changed (credentials rotated, host moved). */
const CONNECTION_RECHECK_MS = 10_000;

/**
 * A connection for a connector, or a non-retryable failure saying what is wrong: an unknown name or an
 * unresolvable secret does not fix itself by retrying.
 */
async function connectionFor(
  deps: { prisma: Prisma; secrets: SecretBox },
  entity: string,
  name: string,
): Promise<ResolvedConnection & { version: number }> {
  try {
    const connection = await loadResolvedConnection(deps.prisma, name, deps.secrets);
    if (!connection) {
      throw ApplicationFailure.nonRetryable(
        `Entity "${entity}" names the connection "${name}", which does not exist.`,
        'ConnectionNotFound',
      );
    }
    return connection;
  } catch (error) {
    if (error instanceof ConnectionSecretError)
      throw ApplicationFailure.nonRetryable(error.message, 'ConnectionSecret');
    throw error;
  }
}

export class EntityRuntimes {
  private readonly runtimes = new Map<string, Promise<EntityRuntime>>();
  private readonly checkedAt = new Map<string, number>();
  /** One pool per PostgreSQL connection for every entity this worker runs. */
  readonly pools = new PoolRegistry();

  constructor(
    private readonly deps: {
      prisma: Prisma;
      secrets: SecretBox;
      /** Request caps shared by every worker (PostgreSQL); without it each connector keeps its own bucket. */
      rateLimiter?: RateLimiterFactory;
    },
  ) {}

  /** The runtime of the entity at `configVersion` (the version the batch started with). */
  async get(name: string, configVersion?: number): Promise<EntityRuntime> {
    // Without a version (a new batch), the latest configuration is wanted: one cheap lookup says which that is.
    configVersion ??= (await this.deps.prisma.entity.findUnique({ where: { name }, select: { configVersion: true } }))
      ?.configVersion;
    const cached = this.runtimes.get(name);
    if (cached) {
      const runtime = await cached.catch(() => null);
      if (
        runtime &&
        (configVersion === undefined || runtime.stored.configVersion === configVersion) &&
        (await this.connectionsCurrent(name, runtime))
      ) {
        return runtime;
      }
      this.runtimes.delete(name);
      if (runtime) void runtime.close();
    }
    const building = this.build(name);
    this.runtimes.set(name, building);
    building.catch(() => this.runtimes.delete(name));
    const runtime = await building;
    if (configVersion !== undefined && runtime.stored.configVersion !== configVersion) throw configChanged(name);
    return runtime;
  }

  async closeAll(): Promise<void> {
    const all = [...this.runtimes.values()];
    this.runtimes.clear();
    await Promise.all(all.map((p) => p.then((r) => r.close()).catch(() => {})));
    await this.pools.closeAll();
  }

  /** Whether the connections a runtime was built from are unchanged (checked at most every few seconds). */
  private async connectionsCurrent(name: string, runtime: EntityRuntime): Promise<boolean> {
    const now = Date.now();
    if (now - (this.checkedAt.get(name) ?? 0) < CONNECTION_RECHECK_MS) return true;
    const current = await connectionStamps(this.deps.prisma, [...runtime.connectionVersions.keys()]);
    const same = [...runtime.connectionVersions].every(([n, v]) => current.get(n)?.version === v);
    if (same) this.checkedAt.set(name, now);
    return same;
  }

  private async build(name: string): Promise<EntityRuntime> {
    const stored = await getEntity(this.deps.prisma, name).catch((error: unknown) => {
      if (error instanceof EntityConfigUnreadableError) {
        throw ApplicationFailure.nonRetryable(error.message, 'EntityConfigInvalid');
      }
      throw error;
    });
    if (!stored) throw ApplicationFailure.nonRetryable(`No entity named "${name}".`, 'EntityNotFound');
    const config = stored.config;
    const hashers = await identityHashers();
    const parentConfigs = new Map<string, EntityConfig>();
    for (const relation of config.parents) {
      const parent = await getEntity(this.deps.prisma, relation.entity);
      if (!parent) {
        throw ApplicationFailure.nonRetryable(
          `Entity "${name}" refers to parent "${relation.entity}", which is not configured.`,
          'EntityNotFound',
        );
      }
      parentConfigs.set(parent.name, parent.config);
    }
    let parents: ParentResolver | null = null;
    try {
      parents = config.parents.length > 0 ? createParentResolver(config, parentConfigs, hashers) : null;
    } catch (error) {
      throw ApplicationFailure.nonRetryable((error as Error).message, 'EntityConfigInvalid');
    }
    const sourceOf = new Map(config.fields.map((f) => [f.target, f.source]));
    const connections = new Map<string, ResolvedConnection & { version: number }>();
    for (const used of [config.source.connection, ...config.targets.map((t) => t.connection)]) {
      if (!connections.has(used)) connections.set(used, await connectionFor(this.deps, name, used));
    }
    this.checkedAt.set(name, Date.now());
    const ctx = { pools: this.pools, rateLimiter: this.deps.rateLimiter, logger: connectorLogger() };
    const built = <T>(make: () => T): T => {
      try {
        return make();
      } catch (error) {
        // A connection of the wrong type, a file path outside its root: configuration, not a passing fault.
        throw ApplicationFailure.nonRetryable((error as Error).message, 'EntityConfigInvalid');
      }
    };
    let source: Source | undefined;
    const targets = new Map<string, Target>();
    const identity = await createIdentityComputer(config);
    return {
      stored,
      config,
      normalizer: createNormalizer(config),
      validator: createRowValidator(config),
      identity,
      hashers,
      // 128 bits of BLAKE3, as bk_hash has: a changed row that kept its hash is not a practical event.
      screen: createSourceScreen(config, identity, (text) => hashers.dataHash(text).slice(0, 32)),
      sourceKey: createSourceKeyReader(config),
      parents,
      parentPrimary: new Map([...parentConfigs].map(([n, c]) => [n, primaryTargetOf(c).name])),
      primary: primaryTargetOf(config),
      keyColumns: config.businessKey.map((k) => sourceOf.get(k)!).filter((s) => !s.includes('.')),
      rowversionColumn: config.rowversionField ? sourceOf.get(config.rowversionField) : undefined,
      sourceSystem: sourceSystemOf(config.source),
      targetFields: config.fields.map((f) => ({
        name: f.target,
        kind: f.list ? 'json' : resolveDeclaredType(f.type),
        required: f.required,
      })),
      connectionVersions: new Map([...connections].map(([n, c]) => [n, c.version])),
      source() {
        source ??= built(() => createSource(config.source, connections.get(config.source.connection)!, ctx));
        return source;
      },
      target(targetName) {
        let target = targets.get(targetName);
        if (!target) {
          const targetConfig = config.targets.find((t) => t.name === targetName);
          if (!targetConfig) throw new Error(`${name} has no target ${targetName}`);
          const connection = connections.get(targetConfig.connection)!;
          target = built(() => createTarget(targetConfig, connection, ctx));
          targets.set(targetName, target);
        }
        return target;
      },
      async close() {
        await Promise.all(
          [source?.close(), ...[...targets.values()].map((t) => t.close())].map((p) => p?.catch(() => {})),
        );
      },
    };
  }
}
