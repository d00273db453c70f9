import type { ErpRow } from '../sandbox/index.ts';
import { type DemoErpData, itemRefOf, partNoOf, woNoOf } from './erp-data.ts';
import { itemRow, lineRow, PLANTS, spellStatus, workOrderRow } from './erp-rows.ts';
import { DEMO_TABLE_NAMES, type DemoTableName, type ErpKey, keyOf } from './erp-schema.ts';
import { formatPriceDot } from './messy-formats.ts';
import { createRandom, deriveSeed } from './prng.ts';
import { WORK_ORDER_STATUSES } from './vocabulary.ts';

/**
 * What one round of "the ERP moved on" does to the source, as a pure plan
 * (seed.ts executes it). Round 1 also inserts the late parents, releasing the
 * children that arrived before them. The rows to change are taken in turn
 * from one fixed shuffled order of the clean rows, so a row is changed again
 * only once every other clean row has been (one "pass"); a price becomes its
 * seeded value + round × 1.01 and a status moves 1-4 steps from its seeded
 * one, a different number of steps in each pass. So no update ever writes
 * back the value a row already holds, and a crashed round applied again
 * writes the same values again.
 */
export const PRICE_CHANGES = 25;
export const STATUS_CHANGES = 10;
export const NEW_ITEMS = 5;
export const NEW_WORK_ORDERS = 5;
export const LINES_PER_NEW_WORK_ORDER = 2;

/** New rows of round r get numbers in 7xx… ranges, 100 per round: rounds 1-999 never collide. */
const NEW_ITEM_BASE = 700_000;
const NEW_WO_BASE = 7_000_000;
const MAX_ROUND = 999;

export interface RowUpdate {
  table: DemoTableName;
  key: ErpKey;
  changes: ErpRow;
}

export interface RoundExpectation {
  /** Rows an incremental sync of this round should insert (new rows and late parents). */
  inserted: number;
  /** Rows it should update (changed values, newer rowversion). */
  updated: number;
  /** Early children already waiting in pending_children that the late parents release. */
  released: number;
}

export interface DemoChangePlan {
  round: number;
  updates: RowUpdate[];
  /** New rows and (round 1) late parents, parents' tables first. */
  inserts: Record<DemoTableName, ErpRow[]>;
  lateParents: { items: number; work_orders: number };
  expected: Record<DemoTableName, RoundExpectation>;
}

const STATUS_ORDER = Object.keys(WORK_ORDER_STATUSES);

/** The round's share of a fixed shuffled order: `perRound` rows, and which pass over the whole order this is. */
function inTurn(indexes: number[], perRound: number, round: number, seed: number) {
  const order = createRandom(seed).shuffle(indexes);
  const roundsPerPass = Math.max(1, Math.floor(order.length / perRound));
  const slot = (round - 1) % roundsPerPass;
  return {
    targets: order.slice(slot * perRound, (slot + 1) * perRound),
    pass: Math.floor((round - 1) / roundsPerPass),
  };
}

export function planDemoChanges(data: DemoErpData, round: number): DemoChangePlan {
  if (!Number.isInteger(round) || round < 1 || round > MAX_ROUND)
    throw new Error(`round must be 1-${MAX_ROUND} (got ${round})`);
  const random = createRandom(deriveSeed(data.options.seed, `changes-${round}`));
  const cleanIndexes = (roles: readonly string[]) => roles.flatMap((role, i) => (role === 'clean' ? [i] : []));

  const prices = inTurn(cleanIndexes(data.items.roles), PRICE_CHANGES, round, deriveSeed(data.options.seed, 'prices'));
  const statuses = inTurn(
    cleanIndexes(data.work_orders.roles),
    STATUS_CHANGES,
    round,
    deriveSeed(data.options.seed, 'statuses'),
  );
  const updates: RowUpdate[] = [
    ...prices.targets.map((i) => ({
      table: 'items' as const,
      key: keyOf('items', data.items.rows[i]!),
      changes: { unit_price: formatPriceDot(data.items.priceCents[i]! + round * 101, random) },
    })),
    ...statuses.targets.map((j) => {
      const seeded = STATUS_ORDER.indexOf(data.work_orders.statuses[j]!);
      const steps = 1 + (statuses.pass % (STATUS_ORDER.length - 1));
      const status = STATUS_ORDER[(seeded + steps) % STATUS_ORDER.length]!;
      return {
        table: 'work_orders' as const,
        key: keyOf('work_orders', data.work_orders.rows[j]!),
        changes: { status: spellStatus(status, random) },
      };
    }),
  ];

  const cleanItems = cleanIndexes(data.items.roles).map(itemRefOf);
  const newItems = Array.from(
    { length: NEW_ITEMS },
    (_, k) =>
      itemRow({ partNo: partNoOf(NEW_ITEM_BASE + round * 100 + k), plant: PLANTS[k % PLANTS.length]! }, null, random)
        .row,
  );
  const newWoNos = Array.from({ length: NEW_WORK_ORDERS }, (_, k) => woNoOf(NEW_WO_BASE + round * 100 + k));
  const newWorkOrders = newWoNos.map((woNo) => workOrderRow(woNo, random.pick(cleanItems), null, random).row);
  const newLines = newWoNos.flatMap((woNo) =>
    Array.from({ length: LINES_PER_NEW_WORK_ORDER }, (_, n) => lineRow(woNo, (n + 1) * 10, null, random)),
  );
  const late = round === 1 ? data.lateParents : { items: [], work_orders: [] };
  const inserts = {
    items: [...late.items, ...newItems],
    work_orders: [...late.work_orders, ...newWorkOrders],
    work_order_lines: newLines,
  };

  const updatedIn = (table: DemoTableName) => updates.filter((u) => u.table === table).length;
  const released = (table: DemoTableName) => (round === 1 ? data.expected[table].earlyChildren : 0);
  const expected = Object.fromEntries(
    DEMO_TABLE_NAMES.map((table) => [
      table,
      { inserted: inserts[table].length, updated: updatedIn(table), released: released(table) },
    ]),
  ) as Record<DemoTableName, RoundExpectation>;
  return {
    round,
    updates,
    inserts,
    lateParents: { items: late.items.length, work_orders: late.work_orders.length },
    expected,
  };
}
