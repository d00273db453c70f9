import type { ReconcileReportView } from './types.ts';

/**
 * Whether a reconcile report proves parity for a gate (promotion from dry run to live): null when it does, else
 * why not, naming each target's counts that are not zero. `since`: the report must have finished after it (the
 * configuration's last change: a report of an older mapping proves nothing about this one). Pure.
 */
export function parityRefusal(report: ReconcileReportView | null, since: Date): string | null {
  if (!report) return 'no completed reconcile of the entity: run one (syncflow reconcile <entity>)';
  if (report.finishedAt === null || Date.parse(report.finishedAt) < since.getTime()) {
    return `its newest completed reconcile (${report.uid}) is older than its configuration's last change: run one again`;
  }
  if (report.clean === true) return null;
  const counts = report.targets
    .filter((t) => !t.clean)
    .map((t) => {
      const kinds = (['missing', 'extra', 'different', 'orphans', 'identityMismatch'] as const)
        .filter((k) => t[k] > 0)
        .map((k) => `${k} ${t[k]}`);
      if (t.unverifiedSegments.length > 0) kinds.push(`unverified segments ${t.unverifiedSegments.length}`);
      return `${t.target}: ${kinds.join(', ') || 'not clean'}`;
    });
  return `its newest reconcile (${report.uid}) is not clean: ${counts.join('; ') || 'not clean'}`;
}
