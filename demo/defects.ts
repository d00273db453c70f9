import type { DemoTableName } from './erp-schema.ts';
import type { Random } from './prng.ts';

/**
 * The kinds of bad rows the demo seeds, each one a row SyncFlow must stop at
 * NORMALIZE or VALIDATE and put in the dead-letter queue with a field-level
 * reason. A defective row has exactly one defect, so per-kind counts are
 * exact. `errorCodes` are the pipeline's codes (pipeline/normalize,
 * pipeline/validate) each kind shows up as.
 */
export const DEFECT_KINDS = [
  'required_missing',
  'invalid_date',
  'out_of_range',
  'unmapped_value',
  'rule_violation',
] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

export const DEFECT_ERROR_CODES: Record<DefectKind, readonly string[]> = {
  required_missing: ['required'],
  invalid_date: ['impossible_date', 'invalid_date'],
  out_of_range: ['out_of_range'],
  unmapped_value: ['unmapped_value'],
  rule_violation: ['pattern'],
};

/** Which defects each table carries (lines have no pattern rule to break). */
export const DEFECTS_PER_TABLE: Record<DemoTableName, readonly DefectKind[]> = {
  items: DEFECT_KINDS,
  work_orders: DEFECT_KINDS,
  work_order_lines: ['required_missing', 'invalid_date', 'out_of_range', 'unmapped_value'],
};

/** Share of a table's rows per defect kind (at least one row of each kind whatever the size). */
export const DEFECT_RATE = 0.004;

export const defectCount = (rows: number): number => Math.max(1, Math.round(rows * DEFECT_RATE));

/** Dates no calendar has, or no date at all: rejected, never rolled over to the next month. */
const IMPOSSIBLE_DATES = ['2025-02-30', '31.04.2025', '2024/13/01', '30.02.2024', '20250231', '2025-06-31', 'n/a'];
const IMPOSSIBLE_DATETIMES = ['2025-02-30 08:00', '31.06.2025 07:30', '2025-04-31T10:00', '2025-13-01 06:00:00'];

export const impossibleDate = (random: Random): string => random.pick(IMPOSSIBLE_DATES);
export const impossibleDateTime = (random: Random): string => random.pick(IMPOSSIBLE_DATETIMES);
