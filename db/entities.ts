import type { Prisma as PrismaTypes } from '@prisma/client';
import { type EntityConfig, entityConfigSchema, type FieldConfig } from '../pipeline/entity-config.ts';
import { assertEntityConnections } from './connections.ts';
import type { Prisma } from './prisma.ts';

/**
 * The entity repository: an entity's configuration lives in `entities.config`
 * (everything but its fields) and `field_mappings` (one row per field, in
 * declared order), so operators can query mappings as rows. Configuration is
 * validated at the edge (parseEntityConfig) before it reaches this module;
 * reading re-parses with the schema so defaults added later apply.
 */
export type EntityMode = 'dry_run' | 'live';

export interface StoredEntity {
  uid: string;
  name: string;
  mode: EntityMode;
  enabled: boolean;
  configVersion: number;
  config: EntityConfig;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * A stored configuration this version cannot read: saved by an earlier SyncFlow (before named
 * connections, its source and targets carried `url` / `baseUrl` / `auth`) or edited by hand. Re-apply it.
 */
export class EntityConfigUnreadableError extends Error {
  override readonly name = 'EntityConfigUnreadableError';
  constructor(
    readonly entity: string,
    readonly issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
  ) {
    super(
      `The stored configuration of entity "${entity}" is not one this SyncFlow can read ` +
        `(${issues
          .slice(0, 3)
          .map((i) => `${i.path.map(String).join('.') || '(config)'}: ${i.message}`)
          .join('; ')}). Re-apply it with PUT /api/v1/entities/${entity}: sources and targets now name a ` +
        'connection (README, "Security model") instead of carrying url, baseUrl or auth.',
    );
  }
}

type EntityRow = PrismaTypes.EntityGetPayload<{ include: { fieldMappings: true } }>;

/** A field's settings that have no column of their own in field_mappings. */
interface FieldExtras {
  range?: FieldConfig['range'];
  rules?: FieldConfig['rules'];
  list?: boolean;
  sensitive?: boolean;
}

function toMappingRows(config: EntityConfig) {
  const keyFields = new Set(config.businessKey);
  return config.fields.map((field, position) => {
    const extras: FieldExtras = {
      ...(field.range ? { range: field.range } : {}),
      ...(field.rules ? { rules: field.rules } : {}),
      ...(field.list ? { list: true } : {}),
      ...(field.sensitive ? { sensitive: true } : {}),
    };
    return {
      entityName: config.name,
      position,
      sourceField: field.source,
      targetField: field.target,
      sourceType: field.type,
      transformation: field.transformation ?? null,
      defaultValue: field.default === undefined ? undefined : (field.default as PrismaTypes.InputJsonValue),
      isRequired: field.required,
      isIdentity: keyFields.has(field.target),
      validationRules: Object.keys(extras).length > 0 ? (extras as PrismaTypes.InputJsonValue) : undefined,
      valueMap: field.valueMap ? (field.valueMap as PrismaTypes.InputJsonValue) : undefined,
    };
  });
}

function fromRow(row: EntityRow): StoredEntity {
  const fields = [...row.fieldMappings]
    .sort((a, b) => a.position - b.position)
    .map((m) => {
      const extras = (m.validationRules ?? {}) as FieldExtras;
      return {
        source: m.sourceField,
        target: m.targetField,
        type: m.sourceType,
        ...(m.transformation ? { transformation: m.transformation } : {}),
        ...(m.defaultValue !== null ? { default: m.defaultValue } : {}),
        required: m.isRequired,
        ...(extras.range ? { range: extras.range } : {}),
        ...(extras.rules ? { rules: extras.rules } : {}),
        ...(extras.list ? { list: true } : {}),
        ...(extras.sensitive ? { sensitive: true } : {}),
        ...(m.valueMap ? { valueMap: m.valueMap } : {}),
      };
    });
  const parsed = entityConfigSchema.safeParse({ ...(row.config as object), name: row.name, fields });
  if (!parsed.success) throw new EntityConfigUnreadableError(row.name, parsed.error.issues);
  const config = parsed.data;
  return {
    uid: row.uid,
    name: row.name,
    mode: row.mode as EntityMode,
    enabled: row.enabled,
    configVersion: row.configVersion,
    config,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** Whether a run writes nothing: `execute` given decides; absent, live entities write and dry-run ones do not. */
export const isDryRun = (mode: EntityMode, execute: boolean | undefined) =>
  execute === undefined ? mode !== 'live' : !execute;

/**
 * Creates or replaces an entity's configuration. A new entity starts in
 * dry-run unless `mode` says otherwise; an update keeps the mode and bumps
 * the config version. Every connection it names must exist with the right
 * type (EntityConnectionError otherwise, which the API answers with 400).
 */
export async function saveEntity(
  prisma: Prisma,
  config: EntityConfig,
  options: { mode?: EntityMode } = {},
): Promise<StoredEntity> {
  await assertEntityConnections(prisma, config);
  const { fields: _fields, name, description, ...rest } = config;
  const body = rest as unknown as PrismaTypes.InputJsonValue;
  const row = await prisma.$transaction(async (tx) => {
    const existing = await tx.entity.findUnique({ where: { name } });
    if (existing) {
      await tx.fieldMapping.deleteMany({ where: { entityName: name } });
      await tx.entity.update({
        where: { name },
        data: {
          description: description ?? null,
          config: body,
          configVersion: { increment: 1 },
          ...(options.mode ? { mode: options.mode } : {}),
        },
      });
    } else {
      await tx.entity.create({
        data: { name, description: description ?? null, config: body, mode: options.mode ?? 'dry_run' },
      });
    }
    await tx.fieldMapping.createMany({ data: toMappingRows(config) });
    return tx.entity.findUniqueOrThrow({ where: { name }, include: { fieldMappings: true } });
  });
  return fromRow(row);
}

/** Whether an entity of that name is stored (readable or not: PUT and DELETE also serve unreadable ones). */
export async function entityExists(prisma: Prisma, name: string): Promise<boolean> {
  return (await prisma.entity.count({ where: { name } })) > 0;
}

export async function getEntity(prisma: Prisma, name: string): Promise<StoredEntity | null> {
  const row = await prisma.entity.findUnique({ where: { name }, include: { fieldMappings: true } });
  return row ? fromRow(row) : null;
}

export async function listEntities(prisma: Prisma): Promise<StoredEntity[]> {
  const rows = await prisma.entity.findMany({ include: { fieldMappings: true }, orderBy: { name: 'asc' } });
  return rows.map(fromRow);
}

export async function setEntityMode(prisma: Prisma, name: string, mode: EntityMode): Promise<StoredEntity | null> {
  const updated = await prisma.entity.updateMany({ where: { name }, data: { mode } });
  return updated.count === 0 ? null : getEntity(prisma, name);
}

/** Removes the configuration (and its field mappings); batches, DLQ and identity records stay for audit. */
export async function deleteEntity(prisma: Prisma, name: string): Promise<boolean> {
  const deleted = await prisma.entity.deleteMany({ where: { name } });
  return deleted.count > 0;
}
