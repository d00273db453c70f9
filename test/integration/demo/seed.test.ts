import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { createSource, createTarget } from '../../../connectors/factory.ts';
import type { Source } from '../../../connectors/types.ts';
import { demoEntities, demoSchedulehubResources } from '../../../demo/entities.ts';
import { DEMO_TABLE_NAMES, DEMO_TABLES, type DemoTableName, type ErpKey } from '../../../demo/erp-schema.ts';
import { applyDemoChanges, type SeedResult, seedDemoErp } from '../../../demo/seed.ts';
import type { EntityConfig } from '../../../pipeline/entity-config.ts';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.ts';
import {
  type ApismithSandbox,
  type ErpRow,
  type SchedulehubSandbox,
  startApismithSandbox,
  startSchedulehubSandbox,
} from '../../../sandbox/index.ts';
import { runStages } from '../../unit/demo/demo-pipeline.ts';

const databaseUrl = inject('databaseUrl');
const SCHEMAS = { erp: 'demo_seed_erp', catalog: 'demo_seed_catalog', schedulehub: 'demo_seed_schedulehub' };
let apismith: ApismithSandbox;
let schedulehub: SchedulehubSandbox;
let entities: Record<DemoTableName, EntityConfig>;
let seeded: SeedResult;
const sources: Source[] = [];

function sourceOf(table: DemoTableName): Source {
  const source = createSource(entities[table].source, {
    name: 'demo-erp',
    type: 'apismith',
    baseUrl: apismith.url,
    ...apismith.credentials,
  });
  sources.push(source);
  return source;
}

async function readAll(table: DemoTableName, request: { mode: 'full' | 'incremental'; watermark?: string }) {
  const source = sourceOf(table);
  const rows: ErpRow[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await source.fetchPage({
      ...request,
      keyColumns: DEMO_TABLES[table].primaryKey,
      rowversionColumn: 'row_version',
      cursor,
      pageSize: 1000,
    });
    rows.push(...page.rows);
    if (page.done) return rows;
    cursor = page.nextCursor;
  }
}

const keyText = (table: DemoTableName, row: ErpKey | ErpRow) =>
  JSON.stringify(DEMO_TABLES[table].primaryKey.map((c) => String(row[c])));

async function rowVersions(table: DemoTableName): Promise<Map<string, string>> {
  const rows = await apismith.erp.rows(table);
  return new Map(rows.map((r) => [keyText(table, r), String(r.row_version)]));
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  for (const schema of Object.values(SCHEMAS)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  apismith = await startApismithSandbox({
    databaseUrl,
    erpSchema: SCHEMAS.erp,
    catalogSchema: SCHEMAS.catalog,
    log: () => {},
  });
  schedulehub = await startSchedulehubSandbox({
    databaseUrl,
    schema: SCHEMAS.schedulehub,
    resources: demoSchedulehubResources(),
    log: () => {},
  });
  const inputs = demoEntities({});
  entities = Object.fromEntries(
    inputs.map((input) => {
      const parsed = parseEntityConfig(input);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return [input.name, parsed.config];
    }),
  ) as Record<DemoTableName, EntityConfig>;
  seeded = await seedDemoErp(apismith.erp);
});

afterAll(async () => {
  for (const source of sources) await source.close();
  await apismith?.stop();
  await schedulehub?.stop();
});

describe('seeding the demo ERP into the APISmith sandbox', () => {
  it('writes every table and publishes one API per table', async () => {
    expect(seeded.status).toBe('seeded');
    for (const table of DEMO_TABLE_NAMES) {
      expect(await apismith.erp.countRows(table)).toBe(seeded.expected[table].rows);
    }
    expect((await apismith.erp.apis()).map((a) => a.slug).sort()).toEqual([
      'erp-items',
      'erp-work-order-lines',
      'erp-work-orders',
    ]);
  });

  it('is idempotent: a second seed finds the data and writes nothing', async () => {
    const before = await rowVersions('items');
    const again = await seedDemoErp(apismith.erp);
    expect(again.status).toBe('already_seeded');
    expect(again.expected).toEqual(seeded.expected);
    expect(await rowVersions('items')).toEqual(before);
    for (const table of DEMO_TABLE_NAMES) {
      expect(await apismith.erp.countRows(table)).toBe(seeded.expected[table].rows);
    }
    await expect(seedDemoErp(apismith.erp, { seed: 1 })).rejects.toThrow(/already holds demo data/);
  });

  it('serves the rows through the APISmith source connector, messy as seeded, with ERP column types', async () => {
    const source = sourceOf('items');
    const columns = await source.describe();
    expect(columns.find((c) => c.name === 'unit_price')).toMatchObject({ sourceType: 'VARCHAR2(20)', kind: 'string' });
    expect(columns.find((c) => c.name === 'created_at')).toMatchObject({ sourceType: 'TIMESTAMP', kind: 'timestamp' });
    expect(columns.find((c) => c.name === 'row_version')).toBeDefined();
    const page = await source.fetchPage({
      mode: 'full',
      keyColumns: ['part_no', 'plant'],
      cursor: null,
      pageSize: 500,
    });
    expect(page.rows).toHaveLength(500);
    expect(page.done).toBe(false);
    const byKey = new Map(seeded.data.items.rows.map((r) => [keyText('items', r), r]));
    for (const row of page.rows) {
      const original = byKey.get(keyText('items', row))!;
      expect(row.description).toBe(original.description); // CRLF, control characters, combining marks intact
      expect(row.unit_price).toBe(original.unit_price);
      expect(row.row_version).toMatch(/^\d+$/);
    }
  });

  it('through the wire, NORMALIZE + VALIDATE reject exactly the expected rows per table', async () => {
    for (const table of DEMO_TABLE_NAMES) {
      const rows = await readAll(table, { mode: 'full' });
      expect(rows).toHaveLength(seeded.expected[table].rows);
      const outcome = runStages(entities[table], rows);
      expect(outcome.failed.size, table).toBe(seeded.expected[table].invalidTotal);
    }
  });

  it('the ScheduleHub target of the entities accepts their credentials and resources', async () => {
    for (const table of DEMO_TABLE_NAMES) {
      const [primary] = entities[table].targets;
      expect(primary).toMatchObject({ type: 'schedulehub', resource: table });
      const target = createTarget(primary!, {
        name: 'demo-planning',
        type: 'schedulehub',
        baseUrl: schedulehub.url,
        ...schedulehub.credentials,
      });
      expect((await target.health()).ok).toBe(true);
      await target.ensure([]);
      await target.close();
    }
  });

  it('applyDemoChanges bumps the rowversion of exactly the rows it changed, and an incremental read sees just them', async () => {
    const before = Object.fromEntries(
      await Promise.all(DEMO_TABLE_NAMES.map(async (t) => [t, await rowVersions(t)] as const)),
    ) as Record<DemoTableName, Map<string, string>>;
    const watermark = String(Math.max(...DEMO_TABLE_NAMES.flatMap((t) => [...before[t].values()].map(Number))));
    const changes = await applyDemoChanges(apismith.erp);
    expect(changes.round).toBe(1);
    expect(changes.updated.items).toHaveLength(25);
    expect(changes.updated.work_orders).toHaveLength(10);
    expect(changes.lateParents).toEqual({
      items: seeded.expected.items.lateParents,
      work_orders: seeded.expected.work_orders.lateParents,
    });
    for (const table of DEMO_TABLE_NAMES) {
      const after = await rowVersions(table);
      const bumped = [...after].filter(([key, version]) => before[table].get(key) !== version).map(([key]) => key);
      const expected = [...changes.updated[table], ...changes.inserted[table]].map((k) => keyText(table, k));
      expect(bumped.sort(), table).toEqual(expected.sort());
      expect(after.size).toBe(before[table].size + changes.inserted[table].length);
      expect(changes.expected[table]).toMatchObject({
        updated: changes.updated[table].length,
        inserted: changes.inserted[table].length,
      });
      const incremental = await readAll(table, { mode: 'incremental', watermark });
      expect(incremental.map((r) => keyText(table, r)).sort()).toEqual(expected.sort());
    }
  });

  it('a second round changes other rows and inserts no late parents again', async () => {
    const changes = await applyDemoChanges(apismith.erp);
    expect(changes.round).toBe(2);
    expect(changes.lateParents).toEqual({ items: 0, work_orders: 0 });
    expect(changes.expected.work_order_lines.released).toBe(0);
    expect((await seedDemoErp(apismith.erp)).round).toBe(2);
  });
});
