import { fc } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDelta, type StoredIdentity } from '../../../pipeline/delta/delta.js';
import type { EntityConfig } from '../../../pipeline/entity-config.js';
import { createIdentityComputer, type IdentityComputer } from '../../../pipeline/identity/identity.js';
import { createNormalizer, type Normalizer } from '../../../pipeline/normalize/engine.js';
import { createPagePipeline, type PagePipeline } from '../../../pipeline/page.js';
import { createRowValidator, type RowValidator } from '../../../pipeline/validate/validator.js';
import { entity } from './entity.js';
import {
  businessKey,
  type EntityOptions,
  expectedValue,
  fieldNames,
  fields,
  invalidNormalizedArb,
  invalidValueArb,
  type LogicalRow,
  logicalRowArb,
  logicalValueArbs,
  nonKeyFields,
  optionsArb,
  spelledRowArb,
  spellRow,
  zones,
} from './property-arbitraries.js';

/**
 * Properties of the pure pipeline over generated rows. Valid rows are valid by construction
 * (property-arbitraries.ts: a logical row, then one of the many ways sources spell it); invalid values are
 * generated on purpose, each with the error code it must produce. Every property counts the cases that
 * reached its assertion and fails when the generator stopped exercising it (`expectExercised`).
 */

// PROPERTY_RUNS=5000 for a deeper search than CI's.
const NUM_RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

// One config, normalizer, validators and page pipeline per option combination (20 of them): building them
// per run would make the test slow without testing more.
interface Built {
  config: EntityConfig;
  normalizer: Normalizer;
  compiled: RowValidator;
  zod: RowValidator;
  page: PagePipeline;
}
const built = new Map<string, Built>();
let identity: IdentityComputer;
const optionKey = (o: EntityOptions) => `${o.sourceTimeZone}|${o.dateOrder}|${o.decimalSeparator}`;
function build(options: EntityOptions): Built {
  const found = built.get(optionKey(options));
  if (found) return found;
  throw new Error(`not prepared: ${optionKey(options)}`);
}
beforeAll(async () => {
  for (const sourceTimeZone of zones) {
    for (const dateOrder of ['DMY', 'MDY'] as const) {
      for (const decimalSeparator of ['.', ','] as const) {
        const options = { sourceTimeZone, dateOrder, decimalSeparator };
        const config = entity({ ...options, businessKey, fields });
        built.set(optionKey(options), {
          config,
          normalizer: createNormalizer(config),
          compiled: createRowValidator(config),
          zod: createRowValidator(config, { engine: 'zod' }),
          page: await createPagePipeline(config),
        });
      }
    }
  }
  // Identity depends on the fields and the key only, not on zone, date order or separator.
  identity = await createIdentityComputer(entity({ businessKey, fields }));
});

/** Counts what a property's runs did, so a property that stopped testing anything fails. */
class Tally {
  readonly counts = new Map<string, number>();
  add(label: string, by = 1): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + by);
  }
  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }
  labels(prefix: string): string[] {
    return [...this.counts.keys()].filter((k) => k.startsWith(prefix));
  }
}
/** At least `share` of `total` cases reached the assertion (and there were cases at all). */
function expectExercised(reached: number, total: number, share = 1): void {
  // PROPERTY_STATS=1 prints what each property reached.
  if (process.env.PROPERTY_STATS) console.info(`${expect.getState().currentTestName}: ${reached}/${total}`);
  expect(total).toBeGreaterThan(0);
  expect(reached / total, `${reached} of ${total} cases reached the assertion`).toBeGreaterThanOrEqual(share);
}

const normalizeOne = (options: EntityOptions, row: Record<string, unknown>) =>
  build(options).normalizer.normalizeRows([row]);

describe('normalization of valid rows (valid by construction)', () => {
  it('normalizes every generated row, to the expected value where the zone does not matter, and idempotently', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.property(spelledRowArb, ({ options, logical, row, labels }) => {
        tally.add('runs');
        for (const label of labels) tally.add(`spelling:${label}`);
        const { normalizer } = build(options);
        const first = normalizer.normalizeRows([row]);
        expect(first.failed).toEqual([]);
        const values = first.valid[0]!.values;
        tally.add('normalized');
        for (const field of fieldNames) {
          const expected = expectedValue(field as keyof LogicalRow, logical);
          if (expected === undefined) continue;
          expect(values[field], field).toEqual(expected);
          tally.add(`oracle:${field}`);
        }
        // Idempotent: its own output normalizes to itself.
        const again = normalizer.normalizeRows([values]);
        expect(again.failed).toEqual([]);
        expect(again.valid[0]!.values).toEqual(values);
        // The preview's stage tracing agrees with the fast path.
        expect(normalizer.normalizeRows([row], { trackStages: true }).valid).toEqual(first.valid);
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('normalized'), tally.get('runs'));
    // The oracle compared most fields of most rows (zone-dependent values excepted).
    for (const field of ['k', 's', 'i', 'n', 'b', 'x', 'mapped', 'ls', 'ln', 'd', 't']) {
      expect(tally.get(`oracle:${field}`), field).toBeGreaterThan(NUM_RUNS * 0.1);
    }
    // Every family of spellings occurred (label families whose count in 200 rows stayed >= 5 over 20 samples).
    const families = [
      ['i:number:js'],
      ['i:number:bigint'],
      ['i:number:exponent'],
      ['i:number:grouped'],
      ['n:number:text'],
      ['n:number:exponent'],
      ['n:number:grouped'],
      ['+currency'],
      ['d:date:YYYYMMDD'],
      ['d:date:DD.MM.YYYY'],
      ['d:date:YMD'],
      ['d:date:DMY', 'd:date:MDY'],
      ['d:date:with-time'],
      ['d:date:integer'],
      ['d:instant:'],
      ['t:timestamp:naive'],
      ['t:instant:offset'],
      ['t:instant:Date'],
      ['b:boolean:word'],
      ['b:boolean:number'],
      ['x:binary:hex'],
      ['x:binary:bytes'],
      ['j:json:text'],
      ['j:json:document'],
      ['ls:ls:list'],
      ['ln:ln:list'],
      ['mapped:mapped:'],
      [':null:'],
    ];
    const spellings = tally.labels('spelling:');
    for (const family of families) {
      const seen = spellings.filter((label) => family.some((part) => label.includes(part)));
      expect(seen.length, family.join(' or ')).toBeGreaterThan(0);
    }
  });

  it('passes VALIDATE with both engines (NORMALIZE and VALIDATE agree on the contract)', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.property(spelledRowArb, ({ options, row }) => {
        tally.add('runs');
        const { normalizer, compiled, zod } = build(options);
        const normalized = normalizer.normalizeRows([row]);
        expect(normalized.failed).toEqual([]);
        expect(compiled.validateRows(normalized.valid).failed).toEqual([]);
        expect(zod.validateRows(normalized.valid).failed).toEqual([]);
        tally.add('validated');
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('validated'), tally.get('runs'));
  });

  it('never throws on arbitrary messy input and accounts for every row', async () => {
    // Robustness, not correctness: anything at all, in every field; the valid-row properties above check values.
    const anyValue = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.double(),
      fc.integer(),
      fc.bigInt(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.date(),
      fc.array(fc.oneof(fc.string(), fc.double(), fc.constant(null)), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)), {
        maxKeys: 3,
      }),
      fc.uint8Array({ maxLength: 4 }),
    );
    const messyRow = fc.record(Object.fromEntries(fieldNames.map((f) => [f, anyValue])), { requiredKeys: [] });
    const tally = new Tally();
    const rowsArb = optionsArb.chain((options) =>
      fc.tuple(
        fc.constant(options),
        // Pairs of a messy row and a spelled valid row, in either order: exactly half the rows are valid by
        // construction, whatever the seed (a free mix drew under 40% valid on some seeds).
        fc
          .array(
            fc.tuple(
              messyRow,
              logicalRowArb.chain((l) => spellRow(l, options)).map((s) => s.row),
              fc.boolean(),
            ),
            { maxLength: 3 },
          )
          .map((pairs) =>
            pairs.flatMap(([messy, valid, validFirst]) => (validFirst ? [valid, messy] : [messy, valid])),
          ),
      ),
    );
    await fc.assert(
      fc.property(rowsArb, ([options, rows]) => {
        const { normalizer } = build(options);
        const first = normalizer.normalizeRows(rows);
        expect(first.valid.length + first.failed.length).toBe(rows.length);
        expect(first.metrics.rows).toBe(rows.length);
        tally.add('rows', rows.length);
        tally.add('valid', first.valid.length);
        const again = normalizer.normalizeRows(first.valid.map((r) => r.values));
        expect(again.failed).toEqual([]);
        expect(again.valid.map((r) => r.values)).toEqual(first.valid.map((r) => r.values));
        expect(normalizer.normalizeRows(rows, { trackStages: true }).valid).toEqual(first.valid);
      }),
      { numRuns: 100 },
    );
    // Half the rows are spelled valid rows, so idempotence was checked on a good share of them.
    expectExercised(tally.get('valid'), tally.get('rows'), 0.4);
  });
});

describe('invalid values (generated on purpose)', () => {
  it('a row with one invalid value fails NORMALIZE on exactly that field with the expected code', async () => {
    const tally = new Tally();
    // One invalid-value generator per option combination (building it per run is slow).
    const invalidArbs = new Map<string, ReturnType<typeof invalidValueArb>>();
    const invalidFor = (options: EntityOptions) => {
      const key = optionKey(options);
      if (!invalidArbs.has(key)) invalidArbs.set(key, invalidValueArb(options));
      return invalidArbs.get(key)!;
    };
    const arb = spelledRowArb.chain((spelled) =>
      invalidFor(spelled.options).map((invalid) => ({ ...spelled, invalid })),
    );
    await fc.assert(
      fc.property(arb, ({ options, row, invalid }) => {
        tally.add('runs');
        tally.add(`case:${invalid.field}:${invalid.code}`);
        const result = normalizeOne(options, { ...row, [invalid.field]: invalid.value });
        expect(result.valid).toEqual([]);
        expect(result.failed[0]!.errors.map((e) => [e.field, e.code])).toEqual([[invalid.field, invalid.code]]);
        tally.add('failed as expected');
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('failed as expected'), tally.get('runs'));
    // The invalid generator covers every kind of field.
    for (const field of ['k', 'i', 'n', 'd', 't', 'b', 'x', 'j', 'mapped', 'ln']) {
      expect(tally.labels(`case:${field}:`).length, field).toBeGreaterThan(0);
    }
  });

  it('a normalized row with one value of the wrong shape fails VALIDATE on that field, in both engines', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.property(spelledRowArb, invalidNormalizedArb, ({ options, row }, invalid) => {
        tally.add('runs');
        const { normalizer, compiled, zod } = build(options);
        const values = { ...normalizer.normalizeRows([row]).valid[0]!.values, [invalid.field]: invalid.value };
        for (const validator of [compiled, zod]) {
          expect(validator.validateRow(values)?.map((e) => [e.field, e.code])).toEqual([[invalid.field, invalid.code]]);
        }
        tally.add('refused as expected');
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('refused as expected'), tally.get('runs'));
  });
});

describe('identity properties', () => {
  /** Options, a logical row and two independent spellings of it. */
  const twoSpellings = optionsArb.chain((options) =>
    logicalRowArb.chain((logical) =>
      fc.tuple(spellRow(logical, options), spellRow(logical, options)).map(([a, b]) => ({ options, logical, a, b })),
    ),
  );

  it('two spellings of one record get the same values, bk_hash and data_hash (whitespace, case, formats, key order)', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.property(twoSpellings, fc.string({ minLength: 1, maxLength: 5 }), ({ options, a, b }, strayKey) => {
        tally.add('runs');
        const first = normalizeOne(options, a.row).valid[0]?.values;
        const second = normalizeOne(options, b.row).valid[0]?.values;
        if (!first || !second) return;
        tally.add('both normalized');
        expect(second).toEqual(first);
        const id = identity.identify(first);
        expect(identity.identify(second)).toEqual(id);
        // Key order, copies and keys that are no field do not matter either.
        const reversed = Object.fromEntries(Object.entries(first).reverse());
        expect(identity.identify(reversed)).toEqual(id);
        expect(identity.identify(structuredClone(first))).toEqual(id);
        if (!fieldNames.includes(strayKey)) expect(identity.identify({ ...first, [strayKey]: 'x' })).toEqual(id);
        if (a.labels.join() !== b.labels.join()) tally.add('spelled differently');
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('both normalized'), tally.get('runs'));
    expectExercised(tally.get('spelled differently'), tally.get('runs'), 0.95);
  });

  it('bk_hash changes when a key field changes, and data_hash does not', async () => {
    const tally = new Tally();
    const arb = fc
      .record({ options: optionsArb, logical: logicalRowArb, field: fc.constantFrom(...businessKey) })
      .chain(({ options, logical, field }) =>
        logicalValueArbs.k
          .filter((v) => v !== logical[field as 'k' | 's'])
          .chain((other) =>
            fc
              .tuple(spellRow(logical, options), spellRow({ ...logical, [field]: other }, options))
              .map(([a, b]) => ({ options, a, b, field })),
          ),
      );
    await fc.assert(
      fc.property(arb, ({ options, a, b, field }) => {
        tally.add('runs');
        const before = normalizeOne(options, a.row).valid[0]?.values;
        const after = normalizeOne(options, b.row).valid[0]?.values;
        if (!before || !after || before[field] === after[field]) return;
        tally.add('key changed');
        const x = identity.identify(before);
        const y = identity.identify(after);
        expect(y.bkHash).not.toBe(x.bkHash);
        expect(y.reference).not.toBe(x.reference);
        expect(y.dataHash).toBe(x.dataHash);
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('key changed'), tally.get('runs'));
  });

  it('data_hash changes when a non-key value changes, and bk_hash does not', async () => {
    const tally = new Tally();
    const arb = fc
      .record({ options: optionsArb, logical: logicalRowArb, field: fc.constantFrom(...nonKeyFields) })
      .chain(({ options, logical, field }) =>
        (logicalValueArbs[field as keyof LogicalRow] as fc.Arbitrary<unknown>)
          .filter((v) => fc.stringify(v) !== fc.stringify(logical[field as keyof LogicalRow]))
          .chain((other) =>
            fc
              .tuple(spellRow(logical, options), spellRow({ ...logical, [field]: other } as LogicalRow, options))
              .map(([a, b]) => ({ options, a, b, field })),
          ),
      );
    await fc.assert(
      fc.property(arb, ({ options, a, b, field }) => {
        tally.add('runs');
        const before = normalizeOne(options, a.row).valid[0]?.values;
        const after = normalizeOne(options, b.row).valid[0]?.values;
        if (!before || !after) return;
        // Different logical values can still normalize alike (case under uppercase, a special character, two
        // instants on one calendar date): those runs are counted out, and must stay few.
        if (fc.stringify(before[field]) === fc.stringify(after[field])) return;
        tally.add('value changed');
        tally.add(`field:${field}`);
        const x = identity.identify(before);
        const y = identity.identify(after);
        expect(y.dataHash).not.toBe(x.dataHash);
        expect(y.bkHash).toBe(x.bkHash);
      }),
      { numRuns: NUM_RUNS },
    );
    expectExercised(tally.get('value changed'), tally.get('runs'), 0.9);
    expect(new Set([...tally.counts.keys()].filter((k) => k.startsWith('field:'))).size).toBe(nonKeyFields.length);
  });
});

describe('delta decisions over a page', () => {
  /**
   * A stored page (first sync) and the next read of the same source, spelled differently: some records
   * unchanged, some with a changed non-key value, some new, some gone. The page pipeline must skip the
   * unchanged, update the changed, insert the new, and a completed full sync delete the gone.
   */
  const pageArb = optionsArb.chain((options) =>
    fc
      .uniqueArray(logicalRowArb, { minLength: 1, maxLength: 10, selector: (r) => `${r.k}\u0000${r.s}` })
      .chain((rows) =>
        fc.tuple(
          fc.constant(rows),
          fc.array(fc.constantFrom('same', 'changed', 'new', 'gone'), {
            minLength: rows.length,
            maxLength: rows.length,
          }),
          fc.tuple(...rows.map(() => logicalValueArbs.n.filter((v) => v !== null))),
        ),
      )
      .chain(([rows, fates, newN]) => {
        const firstRead = rows.filter((_, i) => fates[i] !== 'new');
        const secondRead = rows
          .map((row, i) => (fates[i] === 'changed' ? { ...row, n: row.n === newN[i] ? null : newN[i]! } : row))
          .filter((_, i) => fates[i] !== 'gone');
        return fc
          .tuple(
            fc.tuple(...firstRead.map((r) => spellRow(r, options))),
            fc.tuple(...secondRead.map((r) => spellRow(r, options))),
          )
          .map(([a, b]) => ({ options, rows, fates, first: a.map((s) => s.row), second: b.map((s) => s.row) }));
      }),
  );

  it('skips unchanged records however they are spelled, updates changed ones, inserts new ones, deletes gone ones', async () => {
    const tally = new Tally();
    await fc.assert(
      fc.property(pageArb, ({ options, fates, first, second }) => {
        tally.add('records', fates.length);
        const { page } = build(options);
        const stored = new Map<string, StoredIdentity>();
        const firstPage = page.prepare(first);
        expect(firstPage.failures).toEqual([]);
        for (const r of firstPage.records)
          stored.set(r.identity.bkHash, { dataHash: r.identity.dataHash, rowversion: null });
        const secondPage = page.decide(page.prepare(second), stored);
        expect(secondPage.failures).toEqual([]);
        const expected = { same: 0, changed: 0, new: 0, gone: 0 };
        for (const fate of fates) expected[fate as keyof typeof expected]++;
        const ops = secondPage.delta.decisions.map((d) => `${d.operation}:${d.reason}`).sort();
        expect(ops).toEqual(
          [
            ...Array(expected.same).fill('SKIP:data_unchanged'),
            ...Array(expected.changed).fill('UPDATE:data_changed'),
            ...Array(expected.new).fill('INSERT:new'),
          ].sort(),
        );
        const full = computeDelta({
          incoming: secondPage.records.map((r) => r.identity),
          stored,
          strategy: 'hash',
          syncType: 'full',
          fullSyncComplete: true,
        });
        expect(full.counts).toMatchObject({
          inserted: expected.new,
          updated: expected.changed,
          skipped: expected.same,
          deleted: expected.gone,
          duplicates: 0,
        });
        tally.add('decided', fates.length);
        for (const fate of fates) tally.add(`fate:${fate}`);
      }),
      { numRuns: 100 },
    );
    expectExercised(tally.get('decided'), tally.get('records'));
    for (const fate of ['same', 'changed', 'new', 'gone']) expect(tally.get(`fate:${fate}`), fate).toBeGreaterThan(50);
  });
});
