import { describe, expect, it } from 'vitest';
import {
  LINES_PER_NEW_WORK_ORDER,
  NEW_ITEMS,
  NEW_WORK_ORDERS,
  PRICE_CHANGES,
  planDemoChanges,
  STATUS_CHANGES,
} from '../../../demo/changes.ts';
import { generateErpData } from '../../../demo/erp-data.ts';
import { type DemoTableName, keyOf } from '../../../demo/erp-schema.ts';
import { demoConfigs, runStages } from './demo-pipeline.ts';
import { wireForm } from './wire-form.ts';

const data = generateErpData({ items: 400, workOrders: 300, lines: 900 });
const configs = demoConfigs();

/** Normalized values of a row after applying changes to it. */
function normalized(table: DemoTableName, row: Record<string, unknown>) {
  const outcome = runStages(configs[table], [wireForm(table, row)]);
  expect(outcome.failed.size).toBe(0);
  return outcome.valid.get(0)!;
}

describe('planDemoChanges', () => {
  it('round 1: 25 prices, 10 statuses, new rows and the late parents', () => {
    const plan = planDemoChanges(data, 1);
    const updates = (table: DemoTableName) => plan.updates.filter((u) => u.table === table);
    expect(updates('items')).toHaveLength(PRICE_CHANGES);
    expect(updates('work_orders')).toHaveLength(STATUS_CHANGES);
    for (const table of ['items', 'work_orders'] as const) {
      expect(new Set(updates(table).map((u) => JSON.stringify(u.key))).size).toBe(updates(table).length);
    }
    expect(plan.lateParents).toEqual({
      items: data.lateParents.items.length,
      work_orders: data.lateParents.work_orders.length,
    });
    expect(plan.inserts.items).toHaveLength(data.lateParents.items.length + NEW_ITEMS);
    expect(plan.inserts.work_orders).toHaveLength(data.lateParents.work_orders.length + NEW_WORK_ORDERS);
    expect(plan.inserts.work_order_lines).toHaveLength(NEW_WORK_ORDERS * LINES_PER_NEW_WORK_ORDER);
    expect(plan.expected).toEqual({
      items: { inserted: plan.inserts.items.length, updated: PRICE_CHANGES, released: 0 },
      work_orders: {
        inserted: plan.inserts.work_orders.length,
        updated: STATUS_CHANGES,
        released: data.expected.work_orders.earlyChildren,
      },
      work_order_lines: {
        inserted: NEW_WORK_ORDERS * LINES_PER_NEW_WORK_ORDER,
        updated: 0,
        released: data.expected.work_order_lines.earlyChildren,
      },
    });
  });

  it('only changes clean rows, and every change of every round moves the normalized value', () => {
    // Applied in sequence over more rounds than one pass over the clean rows takes, so rows get changed twice.
    const current = new Map<string, Record<string, unknown>>();
    const rounds = Math.ceil(data.expected.work_orders.landing / STATUS_CHANGES) * 2 + 3;
    let changedTwice = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const update of planDemoChanges(data, round).updates) {
        const table = update.table;
        const id = `${table}${JSON.stringify(update.key)}`;
        const index = data[table].rows.findIndex((r) => JSON.stringify(keyOf(table, r)) === JSON.stringify(update.key));
        expect(data[table].roles[index]).toBe('clean');
        if (current.has(id)) changedTwice++;
        const before = current.get(id) ?? data[table].rows[index]!;
        const after = { ...before, ...update.changes };
        const field = Object.keys(update.changes)[0]!;
        expect(normalized(table, after)[field]).not.toEqual(normalized(table, before)[field]);
        current.set(id, after);
      }
    }
    expect(changedTwice).toBeGreaterThan(0);
  });

  it('later rounds insert no late parents again, and never reuse a new key', () => {
    const round2 = planDemoChanges(data, 2);
    expect(round2.lateParents).toEqual({ items: 0, work_orders: 0 });
    expect(round2.expected.work_orders.released).toBe(0);
    const keys = (round: number) => planDemoChanges(data, round).inserts.items.map((r) => String(r.part_no).trim());
    expect(keys(2).filter((k) => keys(3).includes(k))).toEqual([]);
    expect(planDemoChanges(data, 2)).toEqual(round2);
    expect(() => planDemoChanges(data, 0)).toThrow(/round/);
  });
});
