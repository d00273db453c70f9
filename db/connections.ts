import type { Prisma as PrismaTypes } from '@prisma/client';
import {
  type ConnectionConfig,
  type ConnectionConfigInput,
  maskConnection,
  type ResolvedConnection,
  resolveConnection,
  type StoredConnectionConfig,
  sealConnection,
  storedConnectionConfigSchema,
} from '../connectors/connections.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import { CONNECTION_TYPE_OF } from '../pipeline/connector-config.ts';
import type { EntityConfig } from '../pipeline/entity-config.ts';
import type { Prisma } from './prisma.ts';

/**
 * The connections repository. Configurations arrive validated
 * (connectionInputSchema, at the API or CLI edge) and leave this module
 * either masked (for display) or resolved (for connectors, in memory);
 * what is stored holds inline secrets sealed only.
 */
export interface ConnectionView {
  name: string;
  type: string;
  description: string | null;
  /** Inline secrets as `***`; `{ env }` references by name. */
  config: ConnectionConfigInput;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** Entities whose source or targets name this connection. */
  usedBy: string[];
}

interface StoredRow {
  name: string;
  type: string;
  config: PrismaTypes.JsonValue;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const storedConfigOf = (row: StoredRow): StoredConnectionConfig => {
  const { description: _d, ...config } = row.config as Record<string, unknown>;
  return storedConnectionConfigSchema.parse(config);
};
const descriptionOf = (row: StoredRow): string | null =>
  ((row.config as Record<string, unknown>).description as string | undefined) ?? null;

/** Entity name → the connection names its source and targets use. */
async function usage(prisma: Prisma): Promise<Map<string, string[]>> {
  const rows = await prisma.$queryRaw<Array<{ connection: string; entity: string }>>`
    SELECT DISTINCT c.connection, e.name AS entity
      FROM entities e,
           LATERAL (SELECT e.config->'source'->>'connection' AS connection
                    UNION ALL SELECT t->>'connection' FROM jsonb_array_elements(e.config->'targets') t) c
     WHERE c.connection IS NOT NULL
     ORDER BY e.name`;
  const used = new Map<string, string[]>();
  for (const r of rows) used.set(r.connection, [...(used.get(r.connection) ?? []), r.entity]);
  return used;
}

const view = (row: StoredRow, usedBy: string[]): ConnectionView => ({
  name: row.name,
  type: row.type,
  description: descriptionOf(row),
  config: maskConnection(storedConfigOf(row)),
  version: row.version,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  usedBy,
});

/** A connection that entities use cannot change type (their sources or targets would no longer fit it). */
export class ConnectionInUseError extends Error {
  override readonly name = 'ConnectionInUseError';
  constructor(
    readonly connection: string,
    readonly usedBy: string[],
    what: string,
  ) {
    super(`Connection "${connection}" is used by ${usedBy.join(', ')}: cannot ${what}.`);
  }
}

/** Creates or replaces a connection; `***` keeps a stored secret. Returns the masked view and whether it was new. */
export async function saveConnection(
  prisma: Prisma,
  input: { name: string; config: ConnectionConfig; description?: string | undefined },
  box: SecretBox,
): Promise<{ connection: ConnectionView; created: boolean }> {
  // Saving a connection does not change which entities use it: one read serves the check and the answer.
  const usedBy = (await usage(prisma)).get(input.name) ?? [];
  const result = await prisma.$transaction(async (tx) => {
    const existing = await tx.connection.findUnique({ where: { name: input.name } });
    if (existing && existing.type !== input.config.type && usedBy.length > 0) {
      throw new ConnectionInUseError(input.name, usedBy, `change its type to ${input.config.type}`);
    }
    const previous = existing && existing.type === input.config.type ? storedConfigOf(existing) : undefined;
    const sealed = sealConnection(input.name, input.config, previous, box);
    const config = {
      ...sealed,
      ...(input.description ? { description: input.description } : {}),
    } as PrismaTypes.InputJsonValue;
    if (!existing) {
      return {
        row: await tx.connection.create({ data: { name: input.name, type: input.config.type, config } }),
        created: true,
      };
    }
    if (JSON.stringify(existing.config) === JSON.stringify(config)) return { row: existing, created: false };
    const row = await tx.connection.update({
      where: { name: input.name },
      data: { type: input.config.type, config, version: { increment: 1 } },
    });
    return { row, created: false };
  });
  return { connection: view(result.row, usedBy), created: result.created };
}

export async function getConnection(prisma: Prisma, name: string): Promise<ConnectionView | null> {
  const row = await prisma.connection.findUnique({ where: { name } });
  if (!row) return null;
  return view(row, (await usage(prisma)).get(name) ?? []);
}

export async function listConnections(prisma: Prisma): Promise<ConnectionView[]> {
  const [rows, used] = await Promise.all([prisma.connection.findMany({ orderBy: { name: 'asc' } }), usage(prisma)]);
  return rows.map((row) => view(row, used.get(row.name) ?? []));
}

/** Deletes a connection no entity uses; returns the entities in the way otherwise. */
export async function deleteConnection(prisma: Prisma, name: string): Promise<{ deleted: boolean; usedBy: string[] }> {
  const usedBy = (await usage(prisma)).get(name) ?? [];
  if (usedBy.length > 0) return { deleted: false, usedBy };
  const deleted = await prisma.connection.deleteMany({ where: { name } });
  return { deleted: deleted.count > 0, usedBy: [] };
}

/**
 * Type and version of each named connection (absent names are missing from the map): whether an entity's
 * references fit, and whether a cached connector is still built from the current version.
 */
export async function connectionStamps(
  prisma: Prisma,
  names: string[],
): Promise<Map<string, { type: string; version: number }>> {
  const rows = await prisma.connection.findMany({
    where: { name: { in: names } },
    select: { name: true, type: true, version: true },
  });
  return new Map(rows.map((r) => [r.name, { type: r.type, version: r.version }]));
}

/** A connection's plain configuration for a connector; null when no connection has that name. */
export async function loadResolvedConnection(
  prisma: Prisma,
  name: string,
  box: SecretBox,
  env: NodeJS.ProcessEnv = process.env,
): Promise<(ResolvedConnection & { version: number }) | null> {
  const row = await prisma.connection.findUnique({ where: { name } });
  if (!row) return null;
  return { ...resolveConnection(name, storedConfigOf(row), box, env), version: row.version };
}

/** An entity's connection references that do not hold: unknown names, or a connection of the wrong type. */
export class EntityConnectionError extends Error {
  override readonly name = 'EntityConnectionError';
  constructor(readonly issues: Array<{ field: string; message: string }>) {
    super(`The entity names connections that do not fit: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
}

/** Checks that every connection an entity names exists and has the type its source or target needs. */
export async function assertEntityConnections(
  prisma: Prisma,
  config: Pick<EntityConfig, 'source' | 'targets'>,
): Promise<void> {
  const uses = [
    { field: 'source.connection', type: config.source.type, name: config.source.connection },
    ...config.targets.map((t, i) => ({ field: `targets.${i}.connection`, type: t.type, name: t.connection })),
  ];
  const stamps = await connectionStamps(prisma, [...new Set(uses.map((u) => u.name))]);
  const issues = uses.flatMap((use) => {
    const actual = stamps.get(use.name)?.type;
    const wanted = CONNECTION_TYPE_OF[use.type];
    if (actual === undefined) {
      return [{ field: use.field, message: `no connection named "${use.name}" (an admin defines connections)` }];
    }
    if (actual !== wanted) {
      return [
        {
          field: use.field,
          message: `"${use.name}" is a ${actual} connection; a ${use.type} ${use.field.startsWith('source') ? 'source' : 'target'} needs a ${wanted} connection`,
        },
      ];
    }
    return [];
  });
  if (issues.length > 0) throw new EntityConnectionError(issues);
}
