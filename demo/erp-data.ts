import type { ErpRow } from '../sandbox/index.ts';
import { DEFECTS_PER_TABLE, type DefectKind, defectCount } from './defects.ts';
import { type ItemRef, itemRow, lineRow, PLANTS, workOrderRow } from './erp-rows.ts';
import type { DemoTableName } from './erp-schema.ts';
import { createRandom, deriveSeed, type Random } from './prng.ts';

/**
 * The demo ERP's data: a pure function of a seed and three sizes. Besides
 * the rows it says what each row is (its role) and how many of each kind
 * there are, so the demo and the tests can check SyncFlow's numbers:
 * - `clean`: lands at the first full sync;
 * - a defect kind: stops at NORMALIZE / VALIDATE (dead-letter queue);
 * - `orphan`: a child whose parent never arrives (pending, then DLQ as
 *   parent_missing after the retry limit);
 * - `early_child`: a child whose parent is held back and inserted later by
 *   applyDemoChanges (`lateParents`), so a sync sees the child first.
 * Children only ever point at clean parents (or at none, or at a late one):
 * a child of a rejected parent would be a second, hidden kind of orphan.
 */
export type RowRole = 'clean' | DefectKind | 'orphan' | 'early_child';

export interface ErpDataOptions {
  seed: number;
  items: number;
  workOrders: number;
  lines: number;
}
export const DEFAULT_ERP_DATA_OPTIONS: ErpDataOptions = {
  seed: 20_251_208,
  items: 3000,
  workOrders: 2000,
  lines: 6000,
};

/** Share of child rows that are orphans, and that arrive before their parent. */
export const ORPHAN_RATE = 0.005;
export const EARLY_CHILD_RATE = 0.0075;

export interface GeneratedTable {
  rows: ErpRow[];
  /** roles[i] is what rows[i] is. */
  roles: RowRole[];
}
export interface TableExpectation {
  /** Rows in the first seed (late parents not included). */
  rows: number;
  /** Invalid rows per defect kind (0 for kinds the table does not carry). */
  invalid: Record<DefectKind, number>;
  invalidTotal: number;
  /** Children whose parent never arrives. */
  orphans: number;
  /** Children whose parent is one of the late parents. */
  earlyChildren: number;
  /** Rows of this table held back and inserted by the first applyDemoChanges. */
  lateParents: number;
  /** Rows of the first seed that a first full sync writes to the targets. */
  landing: number;
}
export type DemoExpectations = Record<DemoTableName, TableExpectation>;

export interface DemoErpData {
  options: ErpDataOptions;
  items: GeneratedTable & { priceCents: number[] };
  work_orders: GeneratedTable & { statuses: string[] };
  work_order_lines: GeneratedTable;
  /** Parents inserted after their children (by applyDemoChanges), all clean. */
  lateParents: { items: ErpRow[]; work_orders: ErpRow[] };
  expected: DemoExpectations;
}

export const partNoOf = (n: number): string => `P-${n}`;
export const woNoOf = (n: number): string => `WO-${n}`;
/** Number ranges that never overlap: seeded, late, never-existing (orphan targets). New rows use 7xx… (changes.ts). */
export const ITEM_BASE = 100_000;
const LATE_ITEM_BASE = 600_000;
const MISSING_ITEM_BASE = 900_000;
export const WO_BASE = 1_000_000;
const LATE_WO_BASE = 6_000_000;
const MISSING_WO_BASE = 9_000_000;

/** Item i's canonical key: two plants per part number, so (part_no, plant) is the key, not part_no alone. */
export function itemRefOf(i: number): ItemRef {
  const part = Math.floor(i / 2);
  return { partNo: partNoOf(ITEM_BASE + part), plant: PLANTS[(part + (i % 2)) % PLANTS.length]! };
}

/** Deals roles out over a table's rows at random positions; the rest are clean. */
function dealRoles(size: number, counts: Array<[RowRole, number]>, random: Random): RowRole[] {
  const roles: RowRole[] = new Array(size).fill('clean');
  const positions = random.shuffle(Array.from({ length: size }, (_, i) => i));
  let next = 0;
  for (const [role, count] of counts) {
    for (let k = 0; k < count; k++) roles[positions[next++]!] = role;
  }
  return roles;
}

function defectCounts(table: DemoTableName, rows: number): Array<[RowRole, number]> {
  return DEFECTS_PER_TABLE[table].map((kind) => [kind, defectCount(rows)]);
}

const childCounts = (rows: number) => ({
  orphans: Math.max(1, Math.round(rows * ORPHAN_RATE)),
  early: Math.max(1, Math.round(rows * EARLY_CHILD_RATE)),
});

function checkSizes(options: ErpDataOptions): void {
  for (const [name, size] of [
    ['items', options.items],
    ['workOrders', options.workOrders],
    ['lines', options.lines],
  ] as const) {
    if (!Number.isInteger(size) || size < 100)
      throw new Error(`${name} must be an integer of at least 100 (got ${size})`);
  }
}

export function generateErpData(input: Partial<ErpDataOptions> = {}): DemoErpData {
  const options = { ...DEFAULT_ERP_DATA_OPTIONS, ...input };
  checkSizes(options);
  const items = generateItems(options);
  const workOrders = generateWorkOrders(options, items.cleanRefs);
  const lines = generateLines(options, workOrders.cleanWoNos, workOrders.lateWoNos);
  return {
    options,
    items: { rows: items.rows, roles: items.roles, priceCents: items.priceCents },
    work_orders: { rows: workOrders.rows, roles: workOrders.roles, statuses: workOrders.statuses },
    work_order_lines: { rows: lines.rows, roles: lines.roles },
    lateParents: { items: items.lateRows, work_orders: workOrders.lateRows },
    expected: {
      items: expectationOf(items.roles, items.lateRows.length),
      work_orders: expectationOf(workOrders.roles, workOrders.lateRows.length),
      work_order_lines: expectationOf(lines.roles, 0),
    },
  };
}

function generateItems(options: ErpDataOptions) {
  const random = createRandom(deriveSeed(options.seed, 'items'));
  const roles = dealRoles(options.items, defectCounts('items', options.items), random);
  const rows: ErpRow[] = [];
  const priceCents: number[] = [];
  const cleanRefs: ItemRef[] = [];
  roles.forEach((role, i) => {
    const ref = itemRefOf(i);
    const draft = itemRow(ref, role === 'clean' ? null : (role as DefectKind), random);
    rows.push(draft.row);
    priceCents.push(draft.priceCents);
    if (role === 'clean') cleanRefs.push(ref);
  });
  // Late items: as many as needed for every early work order to have one (two children each, roughly).
  const lateCount = Math.ceil(childCounts(options.workOrders).early / 2);
  const lateRows = Array.from(
    { length: lateCount },
    (_, k) => itemRow({ partNo: partNoOf(LATE_ITEM_BASE + k), plant: PLANTS[k % PLANTS.length]! }, null, random).row,
  );
  return { rows, roles, priceCents, cleanRefs, lateRows };
}

function generateWorkOrders(options: ErpDataOptions, cleanItems: ItemRef[]) {
  const random = createRandom(deriveSeed(options.seed, 'work_orders'));
  const { orphans, early } = childCounts(options.workOrders);
  const roles = dealRoles(
    options.workOrders,
    [...defectCounts('work_orders', options.workOrders), ['orphan', orphans], ['early_child', early]],
    random,
  );
  const lateItemCount = Math.ceil(early / 2);
  const rows: ErpRow[] = [];
  const statuses: string[] = [];
  const cleanWoNos: string[] = [];
  let orphanSeq = 0;
  let earlySeq = 0;
  roles.forEach((role, j) => {
    const woNo = woNoOf(WO_BASE + j);
    let item: ItemRef;
    if (role === 'orphan') item = { partNo: partNoOf(MISSING_ITEM_BASE + orphanSeq++), plant: random.pick(PLANTS) };
    else if (role === 'early_child') {
      const k = earlySeq++ % lateItemCount; // round-robin: every late item has at least one waiting child
      item = { partNo: partNoOf(LATE_ITEM_BASE + k), plant: PLANTS[k % PLANTS.length]! };
    } else item = random.pick(cleanItems);
    const defect = role === 'clean' || role === 'orphan' || role === 'early_child' ? null : role;
    const draft = workOrderRow(woNo, item, defect, random);
    rows.push(draft.row);
    statuses.push(draft.status);
    if (role === 'clean') cleanWoNos.push(woNo);
  });
  const lateCount = Math.ceil(childCounts(options.lines).early / 3);
  const lateWoNos = Array.from({ length: lateCount }, (_, k) => woNoOf(LATE_WO_BASE + k));
  const lateRows = lateWoNos.map((woNo) => workOrderRow(woNo, random.pick(cleanItems), null, random).row);
  return { rows, roles, statuses, cleanWoNos, lateWoNos, lateRows };
}

function generateLines(options: ErpDataOptions, cleanWoNos: string[], lateWoNos: string[]) {
  const random = createRandom(deriveSeed(options.seed, 'work_order_lines'));
  const { orphans, early } = childCounts(options.lines);
  const roles = dealRoles(
    options.lines,
    [...defectCounts('work_order_lines', options.lines), ['orphan', orphans], ['early_child', early]],
    random,
  );
  const nextLineNo = new Map<string, number>();
  const lineNoFor = (woNo: string): number => {
    const lineNo = (nextLineNo.get(woNo) ?? 0) + 10;
    nextLineNo.set(woNo, lineNo);
    return lineNo;
  };
  let orphanSeq = 0;
  let earlySeq = 0;
  const rows = roles.map((role) => {
    let woNo: string;
    if (role === 'orphan') woNo = woNoOf(MISSING_WO_BASE + orphanSeq++);
    else if (role === 'early_child') woNo = lateWoNos[earlySeq++ % lateWoNos.length]!;
    else woNo = random.pick(cleanWoNos);
    const defect = role === 'clean' || role === 'orphan' || role === 'early_child' ? null : role;
    return lineRow(woNo, lineNoFor(woNo), defect, random);
  });
  return { rows, roles };
}

function expectationOf(roles: RowRole[], lateParents: number): TableExpectation {
  const count = (role: RowRole) => roles.filter((r) => r === role).length;
  const invalid = {
    required_missing: count('required_missing'),
    invalid_date: count('invalid_date'),
    out_of_range: count('out_of_range'),
    unmapped_value: count('unmapped_value'),
    rule_violation: count('rule_violation'),
  };
  const invalidTotal = Object.values(invalid).reduce((a, b) => a + b, 0);
  const orphans = count('orphan');
  const earlyChildren = count('early_child');
  return {
    rows: roles.length,
    invalid,
    invalidTotal,
    orphans,
    earlyChildren,
    lateParents,
    landing: roles.length - invalidTotal - orphans - earlyChildren,
  };
}
