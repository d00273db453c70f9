/**
 * Pipeline CPU benchmark (not a test): `npm run bench:pipeline`, or
 * `npx tsx bench/pipeline.ts [rows] [runs]`.
 * Generates messy ERP-like rows of 10 fields (deterministic seed, page by
 * page like the real sync, so memory stays bounded by the page size), then
 * times NORMALIZE, VALIDATE, IDENTITY and DELTA separately per page and
 * prints rows/s per stage and for the whole CPU part (median of the runs).
 * Also times the zod validator against the compiled one on the same rows.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mulberry32 } from '../demo/prng.ts';
import { decideOperations, type StoredIdentity } from '../pipeline/delta/delta.js';
import type { EntityConfig } from '../pipeline/entity-config.js';
import { createIdentityComputer } from '../pipeline/identity/identity.js';
import { createNormalizer, type SourceRow } from '../pipeline/normalize/engine.js';
import { parseEntityConfig } from '../pipeline/parse-entity-config.js';
import { createRowValidator } from '../pipeline/validate/validator.js';

// The generator's garbage is collected before each page is timed (a minor GC,
// outside the timing), so the figures are the pipeline's own cost.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

const TOTAL_ROWS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 3);
const PAGE_SIZE = 10_000;

const parsed = parseEntityConfig({
  name: 'items',
  source: { type: 'postgres', connection: 'erp', table: 'erp_items' },
  targets: [{ type: 'postgres', connection: 'warehouse', name: 'main', table: 'items' }],
  businessKey: ['part_no', 'plant'],
  rowversionField: 'row_version',
  sourceTimeZone: 'Europe/Berlin',
  fields: [
    // Two field patterns, so the regex engine's cost is part of VALIDATE.
    {
      source: 'PART_NO',
      target: 'part_no',
      type: 'VARCHAR2',
      transformation: 'uppercase',
      rules: { pattern: 'P-\\d{1,7}' },
    },
    { source: 'PLANT', target: 'plant', type: 'CHAR', rules: { pattern: '[A-Z]{2}\\d{2}' } },
    { source: 'DESCRIPTION', target: 'description', type: 'VARCHAR2' },
    { source: 'QTY', target: 'qty', type: 'NUMBER', range: { min: -1e9, max: 1e9 } },
    { source: 'PRICE', target: 'price', type: 'NUMBER' },
    { source: 'CREATED', target: 'created_on', type: 'DATE' },
    { source: 'UPDATED', target: 'updated_at', type: 'TIMESTAMP' },
    { source: 'ACTIVE', target: 'active', type: 'BOOLEAN' },
    {
      source: 'ITEM_TYPE',
      target: 'item_type',
      type: 'VARCHAR2',
      valueMap: { values: { Book: 'book', books: 'book', Film: 'film' }, caseInsensitive: true, unmapped: 'keep' },
    },
    { source: 'ROWVERSION', target: 'row_version', type: 'NUMBER' },
  ],
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const entity: EntityConfig = parsed.config;

const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const two = (n: number) => String(n).padStart(2, '0');
/** 1234567.5 → "1,234,567.50" without Intl (toLocaleString would dominate the generation time). */
function grouped(value: number): string {
  const [int, frac = ''] = value.toFixed(2).split('.');
  return `${int!.replace(/\B(?=(\d{3})+$)/g, ',')}.${frac}`;
}
const words = ['Bolt', 'nut', 'Washer', 'GASKET', 'flange', 'Café', 'Cafe\u0301', 'Rohr', 'Ventil', 'pipe'];

function messyRow(r: () => number, n: number): SourceRow {
  const y = 2020 + Math.floor(r() * 6);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  const h = Math.floor(r() * 24);
  const mi = Math.floor(r() * 60);
  const qty = Math.floor(r() * 200_000) / 100;
  const roll = r();
  return {
    PART_NO: roll < 0.1 ? `  p-${n}\r\n` : `P-${n}`,
    PLANT: pick(r, ['DE01', 'DE02', 'US01 ', 'FR03']),
    DESCRIPTION:
      roll < 0.2
        ? `${pick(r, words)}  ${pick(r, words)}\r\nline\u0000two\t\tend `
        : `${pick(r, words)} ${pick(r, words)} ${n % 97}`,
    QTY: pick(r, [qty, grouped(qty), `(${grouped(qty)})`, `€ ${qty}`, `${qty}e-3`, String(qty)]),
    PRICE: roll < 0.5 ? `${Math.floor(r() * 100000)}.${two(Math.floor(r() * 100))}` : Math.floor(r() * 10000) / 100,
    CREATED: pick(r, [
      `${y}-${two(m)}-${two(d)}`,
      `${two(d)}.${two(m)}.${y}`,
      `${y}${two(m)}${two(d)}`,
      `${two(d)}-${two(m)}-${y}`,
    ]),
    UPDATED: pick(r, [
      `${y}-${two(m)}-${two(d)} ${two(h)}:${two(mi)}`,
      `${y}-${two(m)}-${two(d)}T${two(h)}:${two(mi)}:00Z`,
      `${y}-${two(m)}-${two(d)}T${two(h)}:${two(mi)}:30+02:00`,
      `${two(d)}.${two(m)}.${y} ${two(h)}:${two(mi)}:15`,
    ]),
    ACTIVE: pick(r, ['Y', 'N', '1', '0', 'true', 'false', true]),
    ITEM_TYPE: pick(r, ['Book', 'BOOK', 'books', 'film', 'Tool']),
    // About 1% invalid rows: a double sign, an impossible date or a missing key part.
    ROWVERSION: roll > 0.997 ? '--5' : 1_000_000 + n,
    ...(roll > 0.994 && roll <= 0.997 ? { CREATED: `${y}-02-30` } : {}),
    ...(roll > 0.99 && roll <= 0.994 ? { PLANT: '   ' } : {}),
  };
}

function* pages(seed: number): Generator<SourceRow[]> {
  const r = mulberry32(seed);
  for (let start = 0; start < TOTAL_ROWS; start += PAGE_SIZE) {
    const rows: SourceRow[] = [];
    for (let n = start; n < Math.min(start + PAGE_SIZE, TOTAL_ROWS); n++) rows.push(messyRow(r, n));
    yield rows;
  }
}

const stages = ['normalize', 'validate', 'identity', 'delta'] as const;
type Stage = (typeof stages)[number];

async function run(): Promise<{ ms: Record<Stage, number>; valid: number; failed: number; skipped: number }> {
  const normalizer = createNormalizer(entity);
  const validator = createRowValidator(entity);
  const identity = await createIdentityComputer(entity);
  const ms: Record<Stage, number> = { normalize: 0, validate: 0, identity: 0, delta: 0 };
  let valid = 0;
  let failed = 0;
  let skipped = 0;
  for (const rows of pages(42)) {
    collectGarbage({ type: 'minor' });
    let t = performance.now();
    const normalized = normalizer.normalizeRows(rows);
    ms.normalize += performance.now() - t;
    t = performance.now();
    const validated = validator.validateRows(normalized.valid);
    ms.validate += performance.now() - t;
    t = performance.now();
    const identities = identity.identifyAll(validated.valid.map((row) => row.values));
    ms.identity += performance.now() - t;
    // The identity-store lookup is I/O in the real sync: built outside the timing.
    // Half the rows are known: of those, half unchanged (SKIP), half changed (UPDATE).
    const stored = new Map<string, StoredIdentity>();
    identities.forEach((id, i) => {
      if (i % 2 === 0) stored.set(id.bkHash, { dataHash: i % 4 === 0 ? id.dataHash : 'x', rowversion: null });
    });
    t = performance.now();
    const delta = decideOperations(identities, stored, { strategy: 'hash' });
    ms.delta += performance.now() - t;
    valid += validated.valid.length;
    failed += normalized.failed.length + validated.failed.length;
    skipped += delta.counts.skipped;
  }
  return { ms, valid, failed, skipped };
}

async function compareValidators(): Promise<{ compiled: number; zod: number; rows: number }> {
  const normalizer = createNormalizer(entity);
  const rows = normalizer.normalizeRows([...pages(7)].slice(0, 20).flat()).valid;
  const time = (engine: 'compiled' | 'zod') => {
    const validator = createRowValidator(entity, { engine });
    validator.validateRows(rows.slice(0, 10_000)); // warm-up
    const t = performance.now();
    validator.validateRows(rows);
    return rows.length / ((performance.now() - t) / 1000);
  };
  return { compiled: time('compiled'), zod: time('zod'), rows: rows.length };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perSecond = (rows: number, ms: number) => Math.round(rows / (ms / 1000)).toLocaleString('en-US');

const results = [];
for (let i = 0; i < RUNS; i++) {
  const result = await run();
  const total = stages.reduce((sum, s) => sum + result.ms[s], 0);
  console.log(`run ${i + 1}: ${perSecond(TOTAL_ROWS, total)} rows/s total (${Math.round(total)} ms)`);
  results.push(result);
}
const last = results.at(-1)!;
console.log(
  `\n${TOTAL_ROWS.toLocaleString('en-US')} rows, pages of ${PAGE_SIZE}, median of ${RUNS} runs, node ${process.version}`,
);
console.log(`valid ${last.valid}, failed ${last.failed}, skipped ${last.skipped}`);
for (const stage of stages) {
  const ms = median(results.map((r) => r.ms[stage]));
  console.log(`${stage.padEnd(10)} ${perSecond(TOTAL_ROWS, ms).padStart(12)} rows/s  ${Math.round(ms)} ms`);
}
const totalMs = median(results.map((r) => stages.reduce((sum, s) => sum + r.ms[s], 0)));
console.log(`${'total'.padEnd(10)} ${perSecond(TOTAL_ROWS, totalMs).padStart(12)} rows/s  ${Math.round(totalMs)} ms`);
const validators = await compareValidators();
console.log(
  `\nvalidate, ${validators.rows} rows: compiled ${Math.round(validators.compiled).toLocaleString('en-US')} rows/s, ` +
    `zod ${Math.round(validators.zod).toLocaleString('en-US')} rows/s`,
);
