import type { ErpTableDefinition } from '../sandbox/index.ts';

/**
 * The demo ERP's three tables as the ERP declares them, with the ERP's own
 * type names. Several columns are VARCHAR2 although they hold prices, hours
 * or dates: that is how legacy ERPs and their hand-fed exports look, and it
 * is what lets the demo show SyncFlow parsing '1,234.50', '(12.00)',
 * '2,75' and '14.03.2025'. The entity configurations declare what each
 * column is read as (demo/entities.ts).
 */
export const DEMO_TABLE_NAMES = ['items', 'work_orders', 'work_order_lines'] as const;
export type DemoTableName = (typeof DEMO_TABLE_NAMES)[number];

export const DEMO_API_SLUGS: Record<DemoTableName, string> = {
  items: 'erp-items',
  work_orders: 'erp-work-orders',
  work_order_lines: 'erp-work-order-lines',
};

export const DEMO_API_NAMES: Record<DemoTableName, { name: string; description: string }> = {
  items: { name: 'Item master', description: 'Items per plant (demo ERP, messy on purpose)' },
  work_orders: { name: 'Work orders', description: 'Production orders referencing items (demo ERP)' },
  work_order_lines: { name: 'Work order lines', description: 'Operations of each work order (demo ERP)' },
};

export const DEMO_TABLES: Record<DemoTableName, ErpTableDefinition> = {
  items: {
    name: 'items',
    columns: [
      { name: 'part_no', type: 'VARCHAR2(40)', nullable: false },
      { name: 'plant', type: 'CHAR(4)', nullable: false },
      { name: 'description', type: 'VARCHAR2(200)' },
      { name: 'item_type', type: 'VARCHAR2(30)' },
      { name: 'unit_price', type: 'VARCHAR2(20)' },
      { name: 'weight_kg', type: 'NUMBER(10,3)' },
      { name: 'valid_from', type: 'VARCHAR2(20)' },
      { name: 'is_active', type: 'CHAR(1)' },
      { name: 'created_at', type: 'TIMESTAMP' },
    ],
    primaryKey: ['part_no', 'plant'],
  },
  work_orders: {
    name: 'work_orders',
    columns: [
      { name: 'wo_no', type: 'VARCHAR2(20)', nullable: false },
      { name: 'part_no', type: 'VARCHAR2(40)' },
      { name: 'plant', type: 'CHAR(4)' },
      { name: 'quantity', type: 'NUMBER(12,3)' },
      { name: 'due_date', type: 'VARCHAR2(20)' },
      { name: 'planned_start', type: 'VARCHAR2(30)' },
      { name: 'status', type: 'VARCHAR2(20)' },
      { name: 'created_at', type: 'TIMESTAMP' },
    ],
    primaryKey: ['wo_no'],
  },
  work_order_lines: {
    name: 'work_order_lines',
    columns: [
      { name: 'wo_no', type: 'VARCHAR2(20)', nullable: false },
      { name: 'line_no', type: 'INTEGER', nullable: false },
      { name: 'operation', type: 'CLOB' },
      { name: 'work_center', type: 'VARCHAR2(20)' },
      { name: 'hours', type: 'VARCHAR2(20)' },
      { name: 'planned_start', type: 'VARCHAR2(30)' },
    ],
    primaryKey: ['wo_no', 'line_no'],
  },
};

/** The source primary key of a row (raw values as stored), e.g. `{ part_no: 'p-100001 ', plant: 'DE01' }`. */
export type ErpKey = Record<string, string | number>;

export function keyOf(table: DemoTableName, row: Record<string, unknown>): ErpKey {
  return Object.fromEntries(DEMO_TABLES[table].primaryKey.map((c) => [c, row[c] as string | number]));
}
