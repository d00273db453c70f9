import { describe, expect, it } from 'vitest';
import { parityRefusal } from '../../../pipeline/reconcile/parity.ts';
import type { ReconcileReportView, ReconcileTargetReport } from '../../../pipeline/reconcile/types.ts';

const target = (name: string, counts: Partial<ReconcileTargetReport> = {}): ReconcileTargetReport =>
  ({
    target: name,
    type: 'postgres',
    method: 'segments',
    sourceCount: 10,
    targetCount: 10,
    missing: 0,
    extra: 0,
    different: 0,
    orphans: 0,
    identityMismatch: 0,
    unverifiedSegments: [],
    confidence: null,
    clean: true,
    firstKeys: { missing: [], extra: [], different: [], orphans: [] },
    repaired: null,
    ...counts,
  }) as ReconcileTargetReport;
const report = (targets: ReconcileTargetReport[], finishedAt = '2026-12-02T10:00:00.000Z') =>
  ({ uid: 'r1', finishedAt, clean: targets.every((t) => t.clean), targets }) as ReconcileReportView;
const since = new Date('2026-12-02T09:00:00.000Z');

describe('parityRefusal', () => {
  it('passes a clean report finished after the last configuration change', () => {
    expect(parityRefusal(report([target('main'), target('copy')]), since)).toBeNull();
  });
  it('names each unclean target with its non-zero counts', () => {
    const refusal = parityRefusal(
      report([
        target('main', { clean: false, missing: 2, different: 1 }),
        target('copy'),
        target('hub', { clean: false, unverifiedSegments: ['lookup:0'] }),
      ]),
      since,
    );
    expect(refusal).toBe(
      'its newest reconcile (r1) is not clean: main: missing 2, different 1; hub: unverified segments 1',
    );
  });
  it('refuses without a report, or with one older than the configuration', () => {
    expect(parityRefusal(null, since)).toMatch(/no completed reconcile/);
    expect(parityRefusal(report([target('main')], '2026-12-02T08:59:59.999Z'), since)).toMatch(/older than/);
  });
});
