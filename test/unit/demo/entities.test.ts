import { describe, expect, it } from 'vitest';
import { connectionConfigSchema, resolveConnection, sealConnection } from '../../../connectors/connections.ts';
import { createSecretBox } from '../../../connectors/secret-box.ts';
import { planDemoChanges } from '../../../demo/changes.ts';
import { DEFECT_ERROR_CODES, type DefectKind } from '../../../demo/defects.ts';
import { DEMO_CONNECTIONS, demoConnections, demoEntities, demoSchedulehubResources } from '../../../demo/entities.ts';
import { generateErpData } from '../../../demo/erp-data.ts';
import { DEMO_TABLE_NAMES, type DemoTableName } from '../../../demo/erp-schema.ts';
import { orderParentsFirst } from '../../../pipeline/entity-order.ts';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.ts';
import { demoConfigs, runStages } from './demo-pipeline.ts';
import { wireForm } from './wire-form.ts';

const data = generateErpData();
const configs = demoConfigs();
const outcomes = Object.fromEntries(
  DEMO_TABLE_NAMES.map((table) => [
    table,
    runStages(
      configs[table],
      data[table].rows.map((row, i) => wireForm(table, row, i + 1)),
    ),
  ]),
) as Record<DemoTableName, ReturnType<typeof runStages>>;

const keyText = (values: Record<string, unknown>, fields: string[]) => fields.map((f) => String(values[f])).join('|');

describe('demo entity configurations', () => {
  it('parse, are ordered parents first, and name the demo connections and the demo_target schema', () => {
    const inputs = demoEntities({ entityPrefix: 'demo_' });
    const parsed = inputs.map((input) => parseEntityConfig(input));
    for (const p of parsed) expect(p.ok, JSON.stringify(p.ok ? null : p.errors)).toBe(true);
    const configs = parsed.map((p) => (p.ok ? p.config : null)!);
    expect(configs.map((c) => c.name)).toEqual(['demo_items', 'demo_work_orders', 'demo_work_order_lines']);
    expect(orderParentsFirst(configs)).toEqual(['demo_items', 'demo_work_orders', 'demo_work_order_lines']);
    expect(configs[1]!.parents).toEqual([{ entity: 'demo_items', fields: { part_no: 'part_no', plant: 'plant' } }]);
    expect(configs[2]!.parents).toEqual([{ entity: 'demo_work_orders', fields: { wo_no: 'wo_no' } }]);
    expect(configs.map((c) => c.businessKey)).toEqual([['part_no', 'plant'], ['wo_no'], ['wo_no', 'line_no']]);
    for (const [i, c] of configs.entries()) {
      expect(c).toMatchObject({ sourceTimeZone: 'Europe/Berlin', dateOrder: 'DMY', rowversionField: 'row_version' });
      expect(c.source).toMatchObject({ type: 'apismith', connection: DEMO_CONNECTIONS.erp });
      expect(c.targets).toMatchObject([
        { type: 'schedulehub', role: 'primary', connection: DEMO_CONNECTIONS.planning, resource: DEMO_TABLE_NAMES[i] },
        {
          type: 'postgres',
          role: 'secondary',
          connection: DEMO_CONNECTIONS.warehouse,
          schema: 'demo_target',
          table: DEMO_TABLE_NAMES[i],
        },
      ]);
    }
    expect(configs.map((c) => c.decimalSeparator)).toEqual(['.', '.', ',']);
  });

  it("define connections whose credentials are sealed at rest and open to this run's values", () => {
    const box = createSecretBox(Buffer.alloc(32, 1).toString('base64'));
    const connections = demoConnections({
      apismith: { url: 'http://127.0.0.1:4100', username: 'syncflow', password: 'pw-a' },
      schedulehub: { url: 'http://127.0.0.1:4200', username: 'syncflow', password: 'pw-s' },
      warehouseUrl: 'postgresql://w:pw-w@127.0.0.1:5432/syncflow',
    });
    expect(connections.map((c) => c.name)).toEqual(Object.values(DEMO_CONNECTIONS));
    const resolved = connections.map((c) => {
      const sealed = sealConnection(c.name, connectionConfigSchema.parse(c.config), undefined, box);
      expect(JSON.stringify(sealed)).not.toMatch(/pw-/);
      return resolveConnection(c.name, sealed, box, {});
    });
    expect(resolved[0]).toMatchObject({ type: 'apismith', baseUrl: 'http://127.0.0.1:4100', password: 'pw-a' });
    expect(resolved[1]).toMatchObject({ type: 'schedulehub', username: 'syncflow', password: 'pw-s' });
    expect(resolved[2]).toMatchObject({ type: 'postgres', url: 'postgresql://w:pw-w@127.0.0.1:5432/syncflow' });
  });

  it('ask ScheduleHub to require what the entities require', () => {
    expect(demoSchedulehubResources()).toEqual({
      items: { required: ['part_no', 'plant', 'description', 'item_type'] },
      work_orders: { required: ['wo_no', 'part_no', 'plant', 'quantity', 'status'] },
      work_order_lines: { required: ['wo_no', 'line_no', 'operation', 'work_center'] },
    });
  });
});

describe('the generated ERP rows through the real NORMALIZE and VALIDATE stages', () => {
  for (const table of DEMO_TABLE_NAMES) {
    it(`${table}: exactly the defective rows fail, each with its one expected reason`, () => {
      const { failed } = outcomes[table];
      const roles = data[table].roles;
      const failedPerKind: Record<string, number> = {};
      for (const [index, failure] of failed) {
        const role = roles[index]! as DefectKind;
        expect(DEFECT_ERROR_CODES[role], `row ${index} (${role}) should not fail`).toBeDefined();
        expect(failure.errors).toHaveLength(1);
        expect(DEFECT_ERROR_CODES[role]).toContain(failure.errors[0]!.code);
        // Patterns are VALIDATE's job; everything else is caught while normalizing.
        expect(failure.stage).toBe(role === 'rule_violation' ? 'validate' : 'normalize');
        failedPerKind[role] = (failedPerKind[role] ?? 0) + 1;
      }
      const expected = data.expected[table];
      expect(failed.size).toBe(expected.invalidTotal);
      for (const [kind, count] of Object.entries(expected.invalid)) expect(failedPerKind[kind] ?? 0).toBe(count);
    });
  }

  it('children reference parents as the bookkeeping says, once keys are normalized', () => {
    const late = {
      items: runStages(
        configs.items,
        data.lateParents.items.map((r) => wireForm('items', r)),
      ),
      work_orders: runStages(
        configs.work_orders,
        data.lateParents.work_orders.map((r) => wireForm('work_orders', r)),
      ),
    };
    expect(late.items.failed.size + late.work_orders.failed.size).toBe(0);
    const keysOf = (values: Iterable<Record<string, unknown>>, fields: string[]) =>
      new Set([...values].map((v) => keyText(v, fields)));
    const parents = {
      items: keysOf(outcomes.items.valid.values(), ['part_no', 'plant']),
      lateItems: keysOf(late.items.valid.values(), ['part_no', 'plant']),
      workOrders: keysOf(outcomes.work_orders.valid.values(), ['wo_no']),
      lateWorkOrders: keysOf(late.work_orders.valid.values(), ['wo_no']),
    };
    const classify = (
      table: 'work_orders' | 'work_order_lines',
      fields: string[],
      present: Set<string>,
      lateSet: Set<string>,
    ) => {
      const counts = { present: 0, late: 0, missing: 0 };
      for (const [index, values] of outcomes[table].valid) {
        const key = keyText(values, fields);
        const kind = present.has(key) ? 'present' : lateSet.has(key) ? 'late' : 'missing';
        counts[kind]++;
        const role = data[table].roles[index];
        expect(role).toBe(kind === 'present' ? 'clean' : kind === 'late' ? 'early_child' : 'orphan');
      }
      return counts;
    };
    const wo = classify('work_orders', ['part_no', 'plant'], parents.items, parents.lateItems);
    expect(wo).toEqual({
      present: data.expected.work_orders.landing,
      late: data.expected.work_orders.earlyChildren,
      missing: data.expected.work_orders.orphans,
    });
    // A line whose work order is an orphan or early child itself would wait too: lines only point at landing work orders.
    const landingWorkOrders = new Set(
      [...outcomes.work_orders.valid]
        .filter(([i]) => data.work_orders.roles[i] === 'clean')
        .map(([, v]) => String(v.wo_no)),
    );
    const lines = classify('work_order_lines', ['wo_no'], landingWorkOrders, parents.lateWorkOrders);
    expect(lines).toEqual({
      present: data.expected.work_order_lines.landing,
      late: data.expected.work_order_lines.earlyChildren,
      missing: data.expected.work_order_lines.orphans,
    });
    // Every late parent releases at least one child.
    for (const table of ['work_orders', 'work_order_lines'] as const)
      expect(data.expected[table].earlyChildren).toBeGreaterThan(0);
    expect(data.lateParents.items.length).toBeLessThanOrEqual(data.expected.work_orders.earlyChildren);
    expect(data.lateParents.work_orders.length).toBeLessThanOrEqual(data.expected.work_order_lines.earlyChildren);
  });

  it('business keys stay unique after normalization, across seeded, late and new rows of several rounds', () => {
    const rounds = [1, 2, 3].map((round) => planDemoChanges(data, round));
    for (const table of DEMO_TABLE_NAMES) {
      const config = configs[table];
      // Round 1's inserts include the late parents.
      const extra = rounds.flatMap((plan) => plan.inserts[table]);
      const all = runStages(
        config,
        [...data[table].rows, ...extra].map((r) => wireForm(table, r)),
      );
      expect(all.failed.size).toBe(data.expected[table].invalidTotal);
      const keys = [...all.valid.values()].map((v) => keyText(v, config.businessKey));
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('cleans the text: no CR, no control characters, NFC, single spaces, line structure kept', () => {
    const texts = [
      ...[...outcomes.items.valid.values()].map((v) => String(v.description)),
      ...[...outcomes.work_order_lines.valid.values()].map((v) => String(v.operation)),
    ];
    for (const text of texts) {
      expect(text).not.toMatch(/[\r\x00-\x08\x0b-\x1f\x7f-\x9f]/);
      expect(text).not.toMatch(/ {2}|\t|\u00a0/);
      expect(text.normalize('NFC')).toBe(text);
      expect(text).toBe(text.trim());
    }
    expect(texts.some((t) => t.includes('\n'))).toBe(true);
    expect(texts.some((t) => t.includes('ü'))).toBe(true);
  });

  it('reads every spelling into one canonical value and every date into ISO', () => {
    const distinct = (table: DemoTableName, field: string) =>
      new Set([...outcomes[table].valid.values()].map((v) => v[field]));
    expect(distinct('items', 'item_type')).toEqual(
      new Set(['book', 'raw_material', 'semi_finished', 'finished_good', 'purchased']),
    );
    expect(distinct('work_orders', 'status')).toEqual(
      new Set(['planned', 'released', 'in_progress', 'completed', 'cancelled']),
    );
    expect(distinct('work_order_lines', 'work_center')).toEqual(
      new Set(['ASSEMBLY', 'TURNING', 'MILLING', 'PAINTING', 'INSPECTION']),
    );
    for (const due of distinct('work_orders', 'due_date')) expect(due).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const start of distinct('work_order_lines', 'planned_start')) {
      expect(start).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    }
    const prices = [...outcomes.items.valid.values()].map((v) => v.unit_price as number);
    expect(prices.some((p) => p < 0)).toBe(true);
    const hours = [...outcomes.work_order_lines.valid.values()].map((v) => v.hours as number | null);
    expect(hours.some((h) => h !== null && h > 1000)).toBe(true);
    expect(hours.some((h) => h !== null && !Number.isInteger(h))).toBe(true);
  });
});
