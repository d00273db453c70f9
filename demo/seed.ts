import { qualified, quoteIdent } from '../connectors/postgres/pool.ts';
import type { ErpRow, ErpStore } from '../sandbox/index.ts';
import { type DemoChangePlan, planDemoChanges, type RoundExpectation } from './changes.ts';
import { readDemoState, writeDemoState } from './demo-state.ts';
import {
  DEFAULT_ERP_DATA_OPTIONS,
  type DemoErpData,
  type DemoExpectations,
  type ErpDataOptions,
  generateErpData,
} from './erp-data.ts';
import {
  DEMO_API_NAMES,
  DEMO_API_SLUGS,
  DEMO_TABLE_NAMES,
  DEMO_TABLES,
  type DemoTableName,
  type ErpKey,
  keyOf,
} from './erp-schema.ts';

/**
 * Puts the demo ERP into the APISmith sandbox's store and moves it on
 * between syncs. Seeding is idempotent: a store that already holds the demo
 * (same seed and sizes) is left alone, so every `npm start` after the first
 * goes straight to the incremental path.
 */
export interface SeedResult {
  /** `seeded`: written now; `already_seeded`: found from an earlier run, nothing written. */
  status: 'seeded' | 'already_seeded';
  options: ErpDataOptions;
  /** Change rounds applied so far (0 right after seeding). */
  round: number;
  /** API slug per table, as APISmith exposes them. */
  apiSlugs: Record<DemoTableName, string>;
  expected: DemoExpectations;
  data: DemoErpData;
}

const sameOptions = (a: ErpDataOptions, b: ErpDataOptions) =>
  a.seed === b.seed && a.items === b.items && a.workOrders === b.workOrders && a.lines === b.lines;

export async function seedDemoErp(store: ErpStore, input: Partial<ErpDataOptions> = {}): Promise<SeedResult> {
  const options = { ...DEFAULT_ERP_DATA_OPTIONS, ...input };
  const state = await readDemoState(store);
  if (state && !sameOptions(state.options, options)) {
    throw new Error(
      `The sandbox ERP (schema ${store.erpSchema}) already holds demo data seeded with ${JSON.stringify(state.options)}, ` +
        `not ${JSON.stringify(options)}. Seed with the same options, or drop the schema to start over.`,
    );
  }
  const data = generateErpData(options);
  const result = { options, apiSlugs: DEMO_API_SLUGS, expected: data.expected, data };
  if (state) return { ...result, status: 'already_seeded', round: state.round };

  // Children first, so their rowversions are lower than their parents' (as when lines are keyed in before the order).
  for (const table of [...DEMO_TABLE_NAMES].reverse()) {
    await store.createTable(DEMO_TABLES[table]);
    await store.insert(table, data[table].rows);
  }
  for (const table of DEMO_TABLE_NAMES) {
    await store.registerApi({ slug: DEMO_API_SLUGS[table], table, ...DEMO_API_NAMES[table] });
  }
  await writeDemoState(store, { options, round: 0 });
  return { ...result, status: 'seeded', round: 0 };
}

export interface DemoChanges {
  round: number;
  /** Source keys (as stored) of the rows updated, per table. */
  updated: Record<DemoTableName, ErpKey[]>;
  /** Source keys of the rows inserted (new rows and, in round 1, the late parents), per table. */
  inserted: Record<DemoTableName, ErpKey[]>;
  lateParents: DemoChangePlan['lateParents'];
  expected: Record<DemoTableName, RoundExpectation>;
}

/** Applies the next change round to a seeded store and says what it changed. */
export async function applyDemoChanges(store: ErpStore): Promise<DemoChanges> {
  const state = await readDemoState(store);
  if (!state)
    throw new Error(`The sandbox ERP (schema ${store.erpSchema}) holds no demo data: call seedDemoErp first.`);
  const plan = planDemoChanges(generateErpData(state.options), state.round + 1);
  const inserted = {} as Record<DemoTableName, ErpKey[]>;
  for (const table of DEMO_TABLE_NAMES) {
    await insertMissing(store, table, plan.inserts[table]);
    inserted[table] = plan.inserts[table].map((row) => keyOf(table, row));
  }
  const updated: Record<DemoTableName, ErpKey[]> = { items: [], work_orders: [], work_order_lines: [] };
  for (const update of plan.updates) {
    const count = await store.update(update.table, update.key, update.changes);
    if (count !== 1)
      throw new Error(`expected to update one ${update.table} row ${JSON.stringify(update.key)}, updated ${count}`);
    updated[update.table].push(update.key);
  }
  await writeDemoState(store, { options: state.options, round: plan.round });
  return { round: plan.round, updated, inserted, lateParents: plan.lateParents, expected: plan.expected };
}

const keyText = (key: ErpKey | ErpRow): string => JSON.stringify(Object.values(key).map((v) => String(v)));

/** Inserts the rows not there yet, so a round interrupted after its inserts can run again. */
async function insertMissing(store: ErpStore, table: DemoTableName, rows: ErpRow[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = DEMO_TABLES[table].primaryKey;
  const { rows: present } = await store.pool.query(
    `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${qualified(store.erpSchema, table)}`,
  );
  const existing = new Set(present.map((row) => keyText(keyOf(table, row))));
  await store.insert(
    table,
    rows.filter((row) => !existing.has(keyText(keyOf(table, row)))),
  );
}
