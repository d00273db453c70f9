import { describe, expect, it } from 'vitest';
import { DEFECT_KINDS, DEFECTS_PER_TABLE, defectCount } from '../../../demo/defects.ts';
import { generateErpData } from '../../../demo/erp-data.ts';
import { DEMO_TABLE_NAMES, DEMO_TABLES } from '../../../demo/erp-schema.ts';
import { mulberry32 } from '../../../demo/prng.ts';

const small = { items: 300, workOrders: 200, lines: 600 };
const data = generateErpData();
const column = (table: (typeof DEMO_TABLE_NAMES)[number], name: string) =>
  data[table].rows.map((r) => r[name]).filter((v): v is string => typeof v === 'string');

describe('mulberry32', () => {
  it('is a pure function of its seed, in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(draws).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(draws).size).toBeGreaterThan(990);
  });
});

describe('generateErpData', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(generateErpData({ seed: 7, ...small })).toEqual(generateErpData({ seed: 7, ...small }));
    expect(generateErpData({ seed: 8, ...small }).items.rows).not.toEqual(
      generateErpData({ seed: 7, ...small }).items.rows,
    );
  });

  it('makes thousands of rows by default, sizes configurable, too small refused', () => {
    expect(DEMO_TABLE_NAMES.map((t) => data[t].rows.length)).toEqual([3000, 2000, 6000]);
    const sized = generateErpData(small);
    expect(DEMO_TABLE_NAMES.map((t) => sized[t].rows.length)).toEqual([300, 200, 600]);
    expect(() => generateErpData({ items: 10 })).toThrow(/at least 100/);
  });

  it('gives every row every column of its table, and unique source primary keys', () => {
    for (const table of DEMO_TABLE_NAMES) {
      const columns = DEMO_TABLES[table].columns.map((c) => c.name);
      const rows = [...data[table].rows, ...(table === 'work_order_lines' ? [] : data.lateParents[table])];
      for (const row of rows) expect(Object.keys(row)).toEqual(columns);
      const keys = rows.map((r) => JSON.stringify(DEMO_TABLES[table].primaryKey.map((k) => r[k])));
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('keeps its books: per-kind defect counts, orphans, early children, late parents', () => {
    for (const table of DEMO_TABLE_NAMES) {
      const expected = data.expected[table];
      const roles = data[table].roles;
      for (const kind of DEFECT_KINDS) {
        const carried = DEFECTS_PER_TABLE[table].includes(kind);
        expect(expected.invalid[kind]).toBe(carried ? defectCount(roles.length) : 0);
        expect(roles.filter((r) => r === kind).length).toBe(expected.invalid[kind]);
      }
      expect(expected.invalidTotal).toBe(Object.values(expected.invalid).reduce((a, b) => a + b, 0));
      expect(roles.filter((r) => r === 'orphan').length).toBe(expected.orphans);
      expect(roles.filter((r) => r === 'early_child').length).toBe(expected.earlyChildren);
      expect(roles.filter((r) => r === 'clean').length).toBe(expected.landing);
      expect(expected.rows).toBe(roles.length);
    }
    expect(data.expected).toMatchObject({
      items: { rows: 3000, invalidTotal: 60, orphans: 0, earlyChildren: 0, lateParents: 8, landing: 2940 },
      work_orders: { rows: 2000, invalidTotal: 40, orphans: 10, earlyChildren: 15, lateParents: 15, landing: 1935 },
      work_order_lines: { rows: 6000, invalidTotal: 96, orphans: 30, earlyChildren: 45, lateParents: 0, landing: 5829 },
    });
    expect(data.lateParents.items).toHaveLength(8);
    expect(data.lateParents.work_orders).toHaveLength(15);
  });

  it('contains each kind of mess', () => {
    const descriptions = column('items', 'description');
    const operations = column('work_order_lines', 'operation');
    const text = [...descriptions, ...operations];
    expect(text.some((t) => t.includes('\r\n'))).toBe(true);
    expect(operations.some((t) => /\r(?!\n)/.test(t))).toBe(true); // lone CR
    expect(text.some((t) => /[\x01-\x08\x0b\x1b\x85]/.test(t))).toBe(true);
    expect(text.some((t) => /\u0308/.test(t))).toBe(true); // combining diaeresis
    expect(text.some((t) => / {2}|\t|\u00a0/.test(t))).toBe(true);
    expect(text.some((t) => t !== t.trim())).toBe(true);
    expect(text.every((t) => !t.includes('\u0000'))).toBe(true); // PostgreSQL text cannot hold NUL

    const types = new Set(column('items', 'item_type').map((t) => t.trim()));
    for (const spelling of ['Book', 'BOOK', 'books', 'Raw Material', 'RAW']) expect(types).toContain(spelling);

    const prices = column('items', 'unit_price');
    expect(prices.some((p) => /^\d{1,3}(,\d{3})+\.\d{2}$/.test(p))).toBe(true); // 1,234.50
    expect(prices.some((p) => /^\(\d[\d,]*\.\d{2}\)$/.test(p))).toBe(true); // (12.00)
    expect(prices.some((p) => /^€ \d+$/.test(p))).toBe(true); // € 10
    expect(prices.some((p) => /E/.test(p))).toBe(true); // scientific
    const hours = column('work_order_lines', 'hours');
    expect(hours.some((h) => /^\d+,\d+$/.test(h))).toBe(true); // 2,75
    expect(hours.some((h) => /^\d\.\d{3}(,\d+)?$/.test(h))).toBe(true); // 1.020,5

    const dates = column('work_orders', 'due_date');
    for (const format of [
      /^\d{4}-\d{2}-\d{2}$/,
      /^\d{4}\/\d{2}\/\d{2}$/,
      /^\d{2}\.\d{2}\.\d{4}$/,
      /^\d{8}$/,
      /^\d{2}-\d{2}-\d{4}$/,
      /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/,
    ]) {
      expect(dates.some((d) => format.test(d))).toBe(true);
    }
    const starts = column('work_orders', 'planned_start');
    expect(starts.some((s) => /^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$/.test(s))).toBe(true);
    expect(starts.some((s) => /^2025-03-30 02:30/.test(s) || /30\.03\.2025 02:30/.test(s))).toBe(true); // DST gap
    expect(dates.some((d) => ['2025-02-30', '31.04.2025', '2025-06-31', '20250231'].includes(d))).toBe(true);

    const partNos = column('work_orders', 'part_no');
    expect(partNos.some((p) => p !== p.toUpperCase())).toBe(true);
    expect(partNos.some((p) => p.endsWith(' '))).toBe(true);
  });

  it('has the children that arrive before their parents and those whose parents never come', () => {
    const lateItems = new Set(data.lateParents.items.map((r) => `${String(r.part_no).trim().toUpperCase()}`));
    const early = data.work_orders.rows.filter((_, i) => data.work_orders.roles[i] === 'early_child');
    for (const row of early) expect(lateItems).toContain(String(row.part_no).trim().toUpperCase());
    const lateWos = new Set(data.lateParents.work_orders.map((r) => String(r.wo_no).trim().toUpperCase()));
    const earlyLines = data.work_order_lines.rows.filter((_, i) => data.work_order_lines.roles[i] === 'early_child');
    for (const row of earlyLines) expect(lateWos).toContain(String(row.wo_no).trim().toUpperCase());
    // Each late parent releases at least one child.
    expect(new Set(earlyLines.map((r) => String(r.wo_no).trim().toUpperCase())).size).toBe(lateWos.size);
    expect(new Set(early.map((r) => String(r.part_no).trim().toUpperCase())).size).toBe(lateItems.size);
  });
});
