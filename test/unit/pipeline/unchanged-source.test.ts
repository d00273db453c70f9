import { fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { StoredIdentity } from '../../../pipeline/delta/delta.js';
import {
  configFingerprint,
  createSourceScreen,
  findUnchanged,
  sourceRowText,
} from '../../../pipeline/delta/unchanged-source.js';
import { identityHashers } from '../../../pipeline/identity/hashers.js';
import { createIdentityComputer } from '../../../pipeline/identity/identity.js';
import { addRowProblem } from '../../../pipeline/row-problems.js';
import { entity } from './entity.js';

/**
 * Issue 15: rows unchanged since the last sync are skipped before NORMALIZE when their source hash matches the
 * stored one. Its correctness rests on three things tested here: two different rows never render to the same
 * text (types included), the configuration is part of the hash, and the decision refuses every case where the
 * full path could decide otherwise (deleted, duplicate key in the page, a row a reader marked).
 */
describe('sourceRowText', () => {
  it('tells apart values that JSON or String() would render alike', () => {
    const variants: Array<Record<string, unknown>> = [
      { a: '1' },
      { a: 1 },
      { a: 1n },
      { a: 0 },
      { a: -0 },
      { a: true },
      { a: 'true' },
      { a: null },
      { a: undefined },
      { a: '' },
      {},
      { a: new Date('2024-01-01T00:00:00Z') },
      { a: '2024-01-01T00:00:00.000Z' },
      { a: String(new Date('2024-01-01T00:00:00Z').getTime()) },
      { a: Buffer.from('ab') },
      { a: '6162' },
      { a: { b: 1 } },
      { a: '{"b":1}' },
      { a: [1] },
      { a: 'x', b: 'y' },
      { a: 'x;1:b=sy' }, // a value that spells the next column
      { ab: 'x' },
    ];
    const texts = variants.map(sourceRowText);
    expect(new Set(texts).size).toBe(variants.length);
  });

  it('is the same for the same row, whatever object holds it', () => {
    const row = { part_no: 'P-1', qty: '1,5', when: new Date(0), raw: Buffer.from([0, 255]), doc: { y: 1, x: [2] } };
    expect(sourceRowText({ ...row, doc: { x: [2], y: 1 } })).toBe(sourceRowText(row));
  });

  // Generated rows: equal texts exactly when the rows are equal value for value, type for type. The generator
  // must produce both equal pairs and near-misses (same text under String(), different types), or the property
  // says nothing: checked after the run.
  it('two generated rows render alike exactly when they are equal (the generator exercises both sides)', async () => {
    const scalar = fc.constantFrom<unknown>('1', 1, 1n, 'true', true, 'null', null, '', 'a;b');
    // Two columns always, a third sometimes (a column added), named so that names can spell separators.
    const rowArb = fc
      .tuple(scalar, scalar, fc.option(scalar, { nil: undefined, freq: 4 }))
      .map(([a, b, c]) => (c === undefined ? { a, '1:b': b } : { a, '1:b': b, 'c;': c }) as Record<string, unknown>);
    // A twin: the same row with some values swapped for one that String() renders alike ('1', 1, 1n; …).
    const twins = new Map<unknown, unknown[]>([
      ['1', [1, 1n]],
      [1, ['1', 1n]],
      [1n, ['1', 1]],
      ['true', [true]],
      [true, ['true']],
      ['null', [null]],
      [null, ['null']],
    ]);
    const twinArb = fc.tuple(rowArb, fc.infiniteStream(fc.nat(3))).map(([x, picks]) => {
      const y: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) {
        const options = twins.get(v) ?? [];
        const pick = picks.next().value as number;
        y[k] = pick < options.length ? options[pick] : v;
      }
      return [x, y] as const;
    });
    const pairArb = fc.oneof(fc.tuple(rowArb, rowArb), twinArb);
    let equalPairs = 0;
    let nearMisses = 0;
    await fc.assert(
      fc.property(pairArb, ([x, y]) => {
        const same =
          Object.keys(x).join('\0') === Object.keys(y).join('\0') &&
          Object.keys(x).every((k) => Object.is(x[k], y[k]) || (x[k] === y[k] && typeof x[k] === typeof y[k]));
        if (same) equalPairs++;
        else if (
          Object.keys(x).join('\0') === Object.keys(y).join('\0') &&
          Object.keys(x).every((k) => String(x[k]) === String(y[k]))
        ) {
          nearMisses++;
        }
        expect(sourceRowText(x) === sourceRowText(y)).toBe(same);
      }),
      { numRuns: 3000 },
    );
    expect(equalPairs).toBeGreaterThan(10);
    expect(nearMisses).toBeGreaterThan(10);
  });
});

describe('configFingerprint', () => {
  it('changes with any change of the configuration', () => {
    const base = entity({
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'D', target: 'd' },
      ],
    });
    const changed = entity({
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'D', target: 'd', transformation: 'uppercase' },
      ],
    });
    expect(configFingerprint(changed)).not.toBe(configFingerprint(base));
    expect(configFingerprint(structuredClone(base))).toBe(configFingerprint(base));
  });
});

describe('findUnchanged', () => {
  const synced = (sourceHash: string | null, deletedAt: Date | null = null): StoredIdentity => ({
    dataHash: 'd',
    rowversion: null,
    deletedAt,
    sourceHash,
  });

  it('skips a row only when its stored record is synced, not deleted, with the same source hash', () => {
    const rows = [{ k: 1 }, { k: 2 }, { k: 3 }, { k: 4 }, { k: 5 }];
    const keys = ['k1', 'k2', 'k3', 'k4', null];
    const hashes = ['h1', 'h2', 'h3', 'h4', 'h5'];
    const stored = new Map([
      ['k1', synced('h1')], // unchanged
      ['k2', synced('other')], // the row changed
      ['k3', synced('h3', new Date())], // deleted in the target since: it must be inserted again
      // k4: not stored (new)
    ]);
    expect([...findUnchanged(rows, keys, hashes, stored)]).toEqual([0]);
    // A record stored before source hashes existed has none: never skipped.
    expect(findUnchanged(rows, keys, hashes, new Map([['k1', synced(null)]])).size).toBe(0);
  });

  it('skips no occurrence of a key that occurs twice in the page (DELTA keeps the last one)', () => {
    const rows = [{ v: 'old' }, { v: 'new' }];
    const stored = new Map([['k', synced('h-old')]]);
    // The first occurrence matches what the target holds, the second changed: neither may be skipped.
    expect(findUnchanged(rows, ['k', 'k'], ['h-old', 'h-new'], stored).size).toBe(0);
  });

  it('never skips a row a reader marked as not trustworthy', () => {
    const row: Record<string, unknown> = { v: 'x' };
    addRowProblem(row, { column: 'v', code: 'invalid_encoding', message: 'not UTF-8' });
    expect(findUnchanged([row], ['k'], ['h'], new Map([['k', synced('h')]])).size).toBe(0);
  });
});

describe('createSourceScreen', () => {
  it('computes the bk_hash the full path computes, from the key fields alone, and null when they fail', async () => {
    const config = entity({
      businessKey: ['part_no', 'plant'],
      fields: [
        { source: 'PART', target: 'part_no', transformation: 'uppercase', required: true },
        { source: 'PLANT', target: 'plant', required: true },
        { source: 'QTY', target: 'qty', type: 'NUMBER' },
      ],
    });
    const identity = await createIdentityComputer(config);
    const hashers = await identityHashers();
    const screen = createSourceScreen(config, identity, (t) => hashers.dataHash(t).slice(0, 32));
    const rows = [
      { PART: ' p-1 ', PLANT: 'DE01', QTY: 'not a number' }, // the row fails NORMALIZE, its key does not
      { PART: 'P-2', PLANT: null, QTY: '1' }, // a key field missing: no key
    ];
    const keys = screen.keys(rows);
    expect(keys[0]).toBe(identity.identify({ part_no: 'P-1', plant: 'DE01', qty: 1 }).bkHash);
    expect(keys[1]).toBeNull();
    const [a, b] = screen.sourceHashes(rows);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    // Another configuration: other hashes for the same rows.
    const other = createSourceScreen(entity({ ...config, pageSize: 700 }), identity, (t) =>
      hashers.dataHash(t).slice(0, 32),
    );
    expect(other.sourceHashes(rows)[0]).not.toBe(a);
  });
});
