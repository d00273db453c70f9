import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  computeDelta,
  decideOperations,
  type IncomingIdentity,
  planDeletes,
  type StoredIdentity,
} from '../../../pipeline/delta/delta.js';

const inc = (bkHash: string, dataHash: string, rowversion: string | null = null): IncomingIdentity => ({
  bkHash,
  dataHash,
  rowversion,
});
const ops = (result: ReturnType<typeof decideOperations>) => result.decisions.map((d) => `${d.operation}:${d.reason}`);

describe('delta', () => {
  const stored = new Map<string, StoredIdentity>([
    ['a', { dataHash: 'h1', rowversion: '5' }],
    ['b', { dataHash: 'h2', rowversion: '5' }],
    ['c', { dataHash: 'h3', rowversion: null, deletedAt: '2025-01-01' }],
    ['gone', { dataHash: 'h9', rowversion: '1' }],
  ]);

  it('hash: INSERT unknown, UPDATE changed, SKIP unchanged, INSERT what was deleted', () => {
    const result = decideOperations([inc('a', 'h1'), inc('b', 'hX'), inc('n', 'h'), inc('c', 'h3')], stored, {
      strategy: 'hash',
    });
    expect(ops(result)).toEqual(['SKIP:data_unchanged', 'UPDATE:data_changed', 'INSERT:new', 'INSERT:reappeared']);
    expect(result.counts).toMatchObject({ processed: 4, inserted: 2, updated: 1, skipped: 1, efficiency: 0.25 });
  });

  it('rowversion: newer updates, equal or older skips, missing updates', () => {
    const result = decideOperations([inc('a', 'hX', '5'), inc('b', 'h2', '6'), inc('gone', 'h9', null)], stored, {
      strategy: 'rowversion',
      rowversionFamily: 'integer',
    });
    expect(ops(result)).toEqual(['SKIP:rowversion_not_newer', 'UPDATE:rowversion_newer', 'UPDATE:rowversion_missing']);
    const older = decideOperations([inc('a', 'hX', '4')], stored, {
      strategy: 'rowversion',
      rowversionFamily: 'integer',
    });
    expect(ops(older)).toEqual(['SKIP:rowversion_not_newer']);
  });

  it('auto: rowversion where both sides have one, hash otherwise', () => {
    const result = decideOperations([inc('a', 'h1', '6'), inc('gone', 'hX', null), inc('b', 'hX', '5')], stored, {
      strategy: 'auto',
      rowversionFamily: 'integer',
    });
    expect(ops(result)).toEqual(['UPDATE:rowversion_newer', 'UPDATE:data_changed', 'SKIP:rowversion_not_newer']);
  });

  it('sends a record again whose last send was never acknowledged (pending), whatever the strategy', () => {
    const pending = new Map<string, StoredIdentity>([
      ['a', { dataHash: 'h1', rowversion: '5', unacknowledged: true }],
      ['c', { dataHash: 'h3', rowversion: null, deletedAt: '2025-01-01', unacknowledged: true }],
    ]);
    for (const strategy of ['hash', 'rowversion', 'auto'] as const) {
      const result = decideOperations([inc('a', 'h1', '5'), inc('c', 'h3')], pending, {
        strategy,
        rowversionFamily: 'integer',
      });
      // Unchanged against what the target last acknowledged, yet sent: the target may hold the unacknowledged one.
      expect(ops(result)).toEqual(['UPDATE:unacknowledged', 'INSERT:reappeared']);
    }
  });

  it('lets the last occurrence of a duplicated bk_hash win, the earlier ones are superseded skips', () => {
    const result = decideOperations([inc('n', 'v1'), inc('a', 'h1'), inc('n', 'v2')], stored, { strategy: 'hash' });
    expect(ops(result)).toEqual(['SKIP:superseded', 'SKIP:data_unchanged', 'INSERT:new']);
    expect(result.counts).toMatchObject({ processed: 3, inserted: 1, skipped: 2, duplicates: 1 });
  });

  it('deletes only after a completed full sync: stored, not seen, not already deleted', () => {
    const incoming = [inc('a', 'h1'), inc('b', 'h2')];
    const full = computeDelta({ incoming, stored, strategy: 'hash', syncType: 'full', fullSyncComplete: true });
    expect(full.decisions.filter((d) => d.operation === 'DELETE').map((d) => d.bkHash)).toEqual(['gone']);
    expect(full.counts.deleted).toBe(1);
    for (const syncType of ['incremental', 'background'] as const) {
      expect(
        computeDelta({ incoming, stored, strategy: 'hash', syncType, fullSyncComplete: true }).counts.deleted,
      ).toBe(0);
    }
    expect(computeDelta({ incoming, stored, strategy: 'hash', syncType: 'full' }).counts.deleted).toBe(0);
    expect(planDeletes(stored, new Set(['a', 'b', 'gone']))).toEqual([]);
  });

  it('reports zero efficiency for nothing processed', () => {
    expect(decideOperations([], stored, { strategy: 'hash' }).counts.efficiency).toBe(0);
  });
});

/**
 * Reference model: a source that changes over time and a target that only
 * ever receives the delta's operations. After every completed full sync the
 * target must equal the source, unchanged records must be skipped, and the
 * counts must match a direct comparison.
 */
const keyArb = fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6');
const changeArb = fc.record({ key: keyArb, value: fc.option(fc.constantFrom('v1', 'v2', 'v3'), { nil: undefined }) });
const historyArb = fc.array(fc.array(changeArb, { maxLength: 6 }), { minLength: 1, maxLength: 8 });

describe('delta against a reference model', () => {
  test.prop([historyArb], { numRuns: 200 })('full syncs replay the source exactly into the target', (history) => {
    const source = new Map<string, string>();
    const target = new Map<string, StoredIdentity>();
    for (const changes of history) {
      for (const { key, value } of changes) {
        if (value === undefined) source.delete(key);
        else source.set(key, value);
      }
      const incoming = [...source].map(([key, value]) => inc(key, value));
      const { decisions, counts } = computeDelta({
        incoming,
        stored: target,
        strategy: 'hash',
        syncType: 'full',
        fullSyncComplete: true,
      });
      const live = [...target].filter(([, s]) => !s.deletedAt);
      const expectInserted = [...source.keys()].filter((k) => !target.get(k) || target.get(k)!.deletedAt).length;
      const expectUpdated = [...source].filter(([k, v]) => live.some(([lk, s]) => lk === k && s.dataHash !== v)).length;
      const expectDeleted = live.filter(([k]) => !source.has(k)).length;
      expect(counts).toMatchObject({ inserted: expectInserted, updated: expectUpdated, deleted: expectDeleted });
      expect(counts.skipped).toBe(source.size - expectInserted - expectUpdated);
      for (const d of decisions) {
        if (d.operation === 'DELETE') target.set(d.bkHash, { ...target.get(d.bkHash)!, deletedAt: 'now' });
        else if (d.operation !== 'SKIP') target.set(d.bkHash, { dataHash: source.get(d.bkHash)!, rowversion: null });
      }
      const targetLive = new Map([...target].filter(([, s]) => !s.deletedAt).map(([k, s]) => [k, s.dataHash]));
      expect(targetLive).toEqual(source);
    }
  });

  test.prop([fc.array(fc.tuple(keyArb, fc.constantFrom('a', 'b')), { maxLength: 20 })], { numRuns: 200 })(
    'every incoming record gets exactly one decision, duplicates never double-count',
    (pairs) => {
      const incoming = pairs.map(([k, v]) => inc(k, v));
      const { decisions, counts } = decideOperations(incoming, new Map(), { strategy: 'hash' });
      expect(decisions).toHaveLength(incoming.length);
      expect(counts.inserted).toBe(new Set(pairs.map(([k]) => k)).size);
      expect(counts.inserted + counts.updated + counts.skipped).toBe(incoming.length);
      expect(counts.duplicates).toBe(incoming.length - counts.inserted);
    },
  );
});
