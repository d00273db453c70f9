import type { ErpRow } from '../sandbox/index.ts';
import { type DefectKind, impossibleDate, impossibleDateTime } from './defects.ts';
import {
  formatDateMixed,
  formatDateTimeMixed,
  formatDecimalComma,
  formatPriceDot,
  randomDate,
  randomDateTime,
  timestampText,
} from './messy-formats.ts';
import { blankText, messyDescription, messyOperation } from './messy-text.ts';
import type { Random } from './prng.ts';
import {
  ITEM_TYPES,
  UNMAPPED_ITEM_TYPES,
  UNMAPPED_STATUSES,
  UNMAPPED_WORK_CENTERS,
  WORK_CENTERS,
  WORK_ORDER_STATUSES,
} from './vocabulary.ts';

/**
 * One ERP row per call, from its canonical identity and at most one defect.
 * Every column is present (null when empty) because ErpStore.insert takes its
 * column list from the first row. Canonical keys are spelled messily (case,
 * trailing blanks): normalization must bring parent and child spellings
 * back together.
 */
export const PLANTS = ['DE01', 'DE02', 'PL01', 'CZ01'] as const;

export interface ItemRef {
  partNo: string;
  plant: string;
}

/** How people type a part number: mostly as is, sometimes lower case or with trailing blanks. */
export function spellPartNo(canonical: string, random: Random): string {
  const roll = random.next();
  if (roll < 0.15) return canonical.toLowerCase();
  if (roll < 0.3) return `${canonical}${random.pick([' ', '  '])}`;
  return canonical;
}
export const spellPlant = (plant: string, random: Random): string =>
  random.chance(0.15) ? plant.toLowerCase() : plant;
export const spellWoNo = spellPartNo;

function spellingOf(vocabulary: Record<string, readonly string[]>, canonical: string, random: Random): string {
  const spelling = random.pick(vocabulary[canonical]!);
  return random.chance(0.1) ? ` ${spelling} ` : spelling;
}
export const spellStatus = (status: string, random: Random): string => spellingOf(WORK_ORDER_STATUSES, status, random);

/** Price in cents: mostly small parts, a long tail of expensive ones, a few credit items below zero. */
function priceCents(random: Random): number {
  if (random.chance(0.03)) return -random.int(100, 5_000_00);
  return Math.round(50 * Math.exp(random.next() * Math.log(20_000)));
}

export interface ItemDraft {
  row: ErpRow;
  priceCents: number;
}

export function itemRow(ref: ItemRef, defect: DefectKind | null, random: Random): ItemDraft {
  const cents = priceCents(random);
  const partNo = defect === 'rule_violation' ? `${ref.partNo}${random.pick(['#', '/A', '.0', ' X'])}` : ref.partNo;
  const row: ErpRow = {
    part_no: spellPartNo(partNo, random),
    plant: spellPlant(ref.plant, random),
    description: defect === 'required_missing' ? blankText(random) : messyDescription(random),
    item_type:
      defect === 'unmapped_value'
        ? random.pick(UNMAPPED_ITEM_TYPES)
        : spellingOf(ITEM_TYPES, random.pick(Object.keys(ITEM_TYPES)), random),
    unit_price:
      defect === 'out_of_range'
        ? formatPriceDot(random.pick([1_234_567_00, 25_000_000_00, -250_000_00]), random)
        : formatPriceDot(cents, random),
    weight_kg: random.chance(0.1) ? null : random.int(5, 250_000) / 1000,
    valid_from:
      defect === 'invalid_date'
        ? impossibleDate(random)
        : random.chance(0.1)
          ? null
          : formatDateMixed(randomDate(random, 2015, 2025), random),
    is_active: random.pick(['Y', 'Y', 'Y', 'y', '1', 'N', '0']),
    created_at: timestampText(randomDateTime(random, 2015, 2025)),
  };
  return { row, priceCents: cents };
}

export interface WorkOrderDraft {
  row: ErpRow;
  status: string;
}

export function workOrderRow(woNo: string, item: ItemRef, defect: DefectKind | null, random: Random): WorkOrderDraft {
  const status = random.pick(Object.keys(WORK_ORDER_STATUSES));
  const wo = defect === 'rule_violation' ? random.pick([woNo.replace('-', ' '), `${woNo}A`]) : woNo;
  const quantity = random.chance(0.2) ? random.int(1, 2000) + 0.5 : random.int(1, 5000);
  const row: ErpRow = {
    wo_no: spellWoNo(wo, random),
    part_no: spellPartNo(item.partNo, random),
    plant: spellPlant(item.plant, random),
    quantity:
      defect === 'required_missing' ? null : defect === 'out_of_range' ? random.pick([0, -5, 250_000]) : quantity,
    due_date:
      defect === 'invalid_date' ? impossibleDate(random) : formatDateMixed(randomDate(random, 2025, 2026), random),
    planned_start: random.chance(0.05) ? null : formatDateTimeMixed(randomDateTime(random, 2025, 2026), random),
    status: defect === 'unmapped_value' ? random.pick(UNMAPPED_STATUSES) : spellStatus(status, random),
    created_at: timestampText(randomDateTime(random, 2024, 2025)),
  };
  return { row, status };
}

export function lineRow(woNo: string, lineNo: number, defect: DefectKind | null, random: Random): ErpRow {
  // Mostly 0.25-40 h; a few overhaul lines above 1,000 h show '.' grouping under the ',' convention.
  const hundredths = random.chance(0.02) ? random.int(1000_00, 1900_00) : random.int(25, 40_00);
  return {
    wo_no: spellWoNo(woNo, random),
    line_no: lineNo,
    operation: defect === 'required_missing' ? blankText(random) : messyOperation(random),
    work_center:
      defect === 'unmapped_value'
        ? random.pick(UNMAPPED_WORK_CENTERS)
        : spellingOf(WORK_CENTERS, random.pick(Object.keys(WORK_CENTERS)), random),
    hours:
      defect === 'out_of_range'
        ? formatDecimalComma(random.pick([12_500_00, -2_50, 2_500_00]), random)
        : random.chance(0.05)
          ? null
          : formatDecimalComma(hundredths, random),
    planned_start:
      defect === 'invalid_date'
        ? impossibleDateTime(random)
        : formatDateTimeMixed(randomDateTime(random, 2025, 2026), random),
  };
}
