import { describe, expect, it } from 'vitest';
import { applyToTargets, type EntityTargets, targetDeadLetter } from '../../../activities/apply-to-targets.ts';
import type { ApplyOptions, ApplyResult } from '../../../connectors/types.ts';
import type { ApplyBatch, TargetRecord } from '../../../pipeline/target-record.ts';

const record = (bkHash: string): TargetRecord => ({
  bkHash,
  dataHash: `d-${bkHash}`,
  rowversion: null,
  refStr: bkHash,
  data: { id: bkHash },
});
const batch: ApplyBatch = {
  inserts: [record('a'), record('b')],
  updates: [record('c')],
  deletes: [{ bkHash: 'd', refStr: 'd' }],
};
const ops = ['insert', 'insert', 'update', 'delete'] as const;
const allOk = (b: ApplyBatch): ApplyResult[] =>
  [...b.inserts, ...b.updates, ...b.deletes].map((r, i) => ({ bkHash: r.bkHash, op: ops[i]!, ok: true }));

/** Fake targets: each answers with `answer` (or throws it), and every call is logged. */
function targets(answers: Record<string, (b: ApplyBatch) => ApplyResult[] | Error>, primary = 'main') {
  const calls: Array<{ target: string; options: ApplyOptions | undefined }> = [];
  const rt: EntityTargets = {
    primary: { name: primary },
    // Config order puts a secondary before the primary: the primary is still written first.
    config: { targets: Object.keys(answers).map((name) => ({ name })) },
    target: (name) => ({
      async apply(b, options) {
        calls.push({ target: name, options });
        const answer = answers[name]!(b);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    }),
  };
  return { rt, calls };
}

describe('applyToTargets: the one rule for writing to targets', () => {
  it('writes the primary first, then each secondary, and hands back every answer', async () => {
    const refused: ApplyResult = {
      bkHash: 'c',
      op: 'update',
      ok: false,
      error: { type: 'validation_failed', message: 'no', permanent: true },
    };
    const { rt, calls } = targets({
      copy: (b) => allOk(b).map((r) => (r.bkHash === 'c' ? refused : r)),
      main: allOk,
      archive: allOk,
    });
    const seen: string[] = [];
    const signal = new AbortController().signal;
    const outcomes = await applyToTargets(rt, batch, { signal, softDelete: true, onTarget: (t) => seen.push(t) });
    expect(calls.map((c) => c.target)).toEqual(['main', 'copy', 'archive']);
    expect(seen).toEqual(['main', 'copy', 'archive']);
    expect(calls.every((c) => c.options?.signal === signal && c.options.softDelete === true)).toBe(true);
    expect(outcomes.map((o) => [o.target, o.primary])).toEqual([
      ['main', true],
      ['copy', false],
      ['archive', false],
    ]);
    // A record a target refused is its answer, not an error: the caller records it.
    expect(outcomes[1]!.results[2]).toEqual(refused);
  });

  it('throws when the primary fails, before any secondary is written (Temporal retries the activity)', async () => {
    const { rt, calls } = targets({ main: () => new Error('primary down'), copy: allOk });
    await expect(applyToTargets(rt, batch, { signal: new AbortController().signal })).rejects.toThrow('primary down');
    expect(calls.map((c) => c.target)).toEqual(['main']);
  });

  it('turns a secondary that fails into per-record failures, never swallowed, never blocking the others', async () => {
    const { rt, calls } = targets({ main: allOk, copy: () => new Error('copy unreachable'), archive: allOk });
    const outcomes = await applyToTargets(rt, batch, { signal: new AbortController().signal });
    expect(calls.map((c) => c.target)).toEqual(['main', 'copy', 'archive']);
    expect(outcomes[0]!.results.every((r) => r.ok)).toBe(true);
    expect(outcomes[2]!.results.every((r) => r.ok)).toBe(true);
    expect(outcomes[1]).toEqual({
      target: 'copy',
      primary: false,
      results: ['a', 'b', 'c', 'd'].map((bkHash, i) => ({
        bkHash,
        op: ops[i],
        ok: false,
        error: { type: 'target_unavailable', message: 'copy unreachable', permanent: false },
      })),
    });
  });

  it('rethrows what a secondary threw once the activity is cancelled, and writes nothing more', async () => {
    const stop = new AbortController();
    const { rt, calls } = targets({
      main: allOk,
      copy: () => {
        stop.abort();
        return new Error('aborted');
      },
      archive: allOk,
    });
    await expect(applyToTargets(rt, batch, { signal: stop.signal })).rejects.toThrow('aborted');
    expect(calls.map((c) => c.target)).toEqual(['main', 'copy']);
  });

  it('says in a DLQ row which target did not take a record, and retries a transient failure', () => {
    const transient = targetDeadLetter(
      { bkHash: 'a', op: 'delete', ok: false, error: { type: 'target_unavailable', message: 'x', permanent: false } },
      'copy',
      60,
    );
    expect(transient).toMatchObject({
      stage: 'ingest',
      targetName: 'copy',
      errorType: 'target_unavailable',
      errorMessage: 'x',
      errorDetails: { permanent: false, operation: 'delete' },
    });
    expect(transient.nextRetryAt!.getTime()).toBeGreaterThan(Date.now());
    const permanent = targetDeadLetter({ bkHash: 'a', op: 'insert', ok: false }, 'main', 60);
    expect(permanent).toMatchObject({
      errorType: 'target_error',
      errorDetails: { permanent: true, operation: 'insert' },
      nextRetryAt: null,
    });
  });
});
