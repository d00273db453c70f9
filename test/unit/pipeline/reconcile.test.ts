import { describe, expect, it } from 'vitest';
import {
  allClean,
  differingSegments,
  diffKeys,
  firstKeys,
  isClean,
  MAX_PREFIX_LENGTH,
  prefixLengthFor,
  rowsIn,
  type SegmentSummary,
  shouldBisect,
  UNSYNCABLE,
} from '../../../pipeline/reconcile/compare.ts';
import { sampleConfidence, upperBound95 } from '../../../pipeline/reconcile/confidence.ts';

const seg = (entries: Array<[string, number, string]>) =>
  new Map<string, SegmentSummary>(entries.map(([p, count, checksum]) => [p, { count, checksum }]));
const rec = (bkHash: string, dataHash: string | null, refStr: string | null = null) => ({ bkHash, dataHash, refStr });

describe('reconcile: segment comparison', () => {
  it('chooses a prefix length for a few hundred rows per segment', () => {
    expect(prefixLengthFor(0)).toBe(1);
    expect(prefixLengthFor(300)).toBe(1);
    expect(prefixLengthFor(8_000)).toBe(1); // 16 segments of 500
    expect(prefixLengthFor(8_001)).toBe(2);
    expect(prefixLengthFor(1_000_000)).toBe(3); // 4096 segments of ~244
    expect(prefixLengthFor(10 ** 15)).toBe(MAX_PREFIX_LENGTH);
  });

  it('names the segments that differ: count, checksum, or present on one side only', () => {
    const source = seg([
      ['0', 10, '100'],
      ['1', 10, '200'],
      ['2', 10, '300'],
      ['3', 5, '50'],
    ]);
    const target = seg([
      ['0', 10, '100'],
      ['1', 9, '190'],
      ['2', 10, '301'],
      ['f', 1, '7'],
    ]);
    expect(differingSegments(source, target)).toEqual(['1', '2', '3', 'f']);
    expect(differingSegments(source, source)).toEqual([]);
    expect(rowsIn(['1', '3', 'x'], source)).toBe(15);
  });

  it('diffs a segment key by key into missing, extra and different', () => {
    const diff = diffKeys(
      [rec('a1', 'h1', 'r-a1'), rec('a2', 'h2', 'r-a2'), rec('a3', 'h3', 'r-a3')],
      [rec('a1', 'h1'), rec('a3', 'hX', 'old'), rec('a9', 'h9', 'r-a9')],
    );
    expect(diff.missing).toEqual([rec('a2', 'h2', 'r-a2')]);
    expect(diff.extra).toEqual([rec('a9', 'h9', 'r-a9')]);
    expect(diff.different).toEqual([rec('a3', 'h3', 'r-a3')]);
    expect(diff.matching).toBe(1);
  });

  it('a record whose row cannot be synced is neither missing nor different, and a target holding it is no extra', () => {
    const diff = diffKeys([rec('b1', UNSYNCABLE), rec('b2', UNSYNCABLE)], [rec('b1', 'old')]);
    expect(diff).toEqual({ missing: [], extra: [], different: [], matching: 0 });
  });

  it('lists the first keys of each kind', () => {
    const many = Array.from({ length: 30 }, (_, i) => rec(`k${String(i).padStart(2, '0')}`, 'h', `r${i}`));
    expect(firstKeys(many)).toHaveLength(20);
    expect(firstKeys(many)[0]).toEqual({ bkHash: 'k00', refStr: 'r0' });
  });

  it('is clean only with every count zero and every segment verified', () => {
    const zero = { missing: 0, extra: 0, different: 0, orphans: 0, identityMismatch: 0, unverifiedSegments: [] };
    expect(isClean(zero)).toBe(true);
    for (const field of ['missing', 'extra', 'different', 'orphans', 'identityMismatch'] as const) {
      expect(isClean({ ...zero, [field]: 1 })).toBe(false);
    }
    expect(isClean({ ...zero, unverifiedSegments: ['a'] })).toBe(false);
    expect(allClean([{ clean: true }, { clean: false }])).toBe(false);
    expect(allClean([{ clean: true }])).toBe(true);
  });
});

describe('reconcile: when to bisect differing segments before reading them', () => {
  // 16 segments of 10,000 records each on both sides.
  const sides = (override: Record<string, number> = {}) => {
    const make = (counts: Record<string, number>) =>
      new Map(Object.entries(counts).map(([p, n]) => [p, { count: n, checksum: String(n) }]));
    const base = Object.fromEntries([...'0123456789abcdef'].map((p) => [p, 10_000]));
    return { source: make(base), target: make({ ...base, ...override }) };
  };
  it('a few large differing segments are split; small ones are read as they are', () => {
    const { source, target } = sides({ '3': 9_999, a: 10_001 });
    expect(shouldBisect(['3', 'a'], source, target, 1, 30_000)).toBe(true);
    expect(shouldBisect(['3', 'a'], source, target, 1, 50_000)).toBe(false);
    expect(shouldBisect([], source, target, 1, 10)).toBe(false);
  });
  it('not past the longest prefix', () => {
    const { source, target } = sides({ '3': 9_999 });
    expect(shouldBisect(['3'], source, target, 7, 10)).toBe(false);
    expect(shouldBisect(['3'], source, target, 6, 10)).toBe(true);
  });
  it('not when most segments differ (a wiped target): finer ones would differ just the same', () => {
    const wiped = sides();
    wiped.target.clear();
    const all = [...wiped.source.keys()];
    expect(shouldBisect(all, wiped.source, wiped.target, 1, 50_000)).toBe(false);
    const { source, target } = sides();
    expect(shouldBisect(all.slice(0, 8), source, target, 1, 50_000)).toBe(true);
    expect(shouldBisect(all.slice(0, 9), source, target, 1, 50_000)).toBe(false);
  });
});

describe('reconcile: what a sample proves', () => {
  it('with nothing found, the 95% upper bound is 1 - 0.05^(1/n) (about 3/n)', () => {
    expect(upperBound95(100, 0)).toBeCloseTo(1 - 0.05 ** (1 / 100), 10);
    expect(upperBound95(1000, 0)).toBeCloseTo(0.002991, 5);
    expect(sampleConfidence(1000, 1_000_000, 0).note).toContain('at most 0.30% of the records differ');
  });

  it('with differences found, a bound above the observed rate', () => {
    const bound = upperBound95(100, 5);
    expect(bound).toBeGreaterThan(0.05);
    expect(bound).toBeLessThan(0.12);
  });

  it('a sample of everything is exact', () => {
    expect(sampleConfidence(200, 200, 0)).toMatchObject({ upperBound: 0, note: 'all 200 records checked: 0 differ' });
    expect(sampleConfidence(200, 200, 2).upperBound).toBe(0.01);
  });
});
