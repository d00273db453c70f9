import { qualified } from '../connectors/postgres/pool.ts';
import type { ErpStore } from '../sandbox/index.ts';
import type { ErpDataOptions } from './erp-data.ts';

/**
 * What the demo has done to a sandbox ERP, kept next to the ERP tables (one
 * row, not published as an API): the options it was seeded with and how many
 * change rounds ran. Written last by each step, so a step interrupted half
 * way is simply done again on the next start.
 */
export interface DemoState {
  options: ErpDataOptions;
  round: number;
}

const STATE_TABLE = 'syncflow_demo_state';
const tableOf = (store: ErpStore) => qualified(store.erpSchema, STATE_TABLE);

export async function readDemoState(store: ErpStore): Promise<DemoState | null> {
  const exists = await store.pool.query('SELECT to_regclass($1) IS NOT NULL AS present', [tableOf(store)]);
  if (!exists.rows[0].present) return null;
  const { rows } = await store.pool.query(`SELECT options, round FROM ${tableOf(store)} WHERE id = 1`);
  return rows[0] ? { options: rows[0].options, round: rows[0].round } : null;
}

export async function writeDemoState(store: ErpStore, state: DemoState): Promise<void> {
  await store.pool.query(
    `CREATE TABLE IF NOT EXISTS ${tableOf(store)} (
       id int PRIMARY KEY CHECK (id = 1), options jsonb NOT NULL, round int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
  await store.pool.query(
    `INSERT INTO ${tableOf(store)} (id, options, round) VALUES (1, $1, $2)
     ON CONFLICT (id) DO UPDATE SET options = EXCLUDED.options, round = EXCLUDED.round, updated_at = now()`,
    [JSON.stringify(state.options), state.round],
  );
}

/** Removes the marker (a re-seed then starts from scratch: createTable empties the tables). */
export async function clearDemoState(store: ErpStore): Promise<void> {
  await store.pool.query(`DROP TABLE IF EXISTS ${tableOf(store)}`);
}
