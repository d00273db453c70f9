import type { Prisma } from './prisma.ts';

/**
 * The difference kinds a reconcile report counts per target (pipeline/reconcile/types.ts), as metric labels:
 * identity_mismatch is the report's identityMismatch (the identity store disagrees with the target).
 */
export const RECONCILE_DIFFERENCE_KINDS = ['missing', 'extra', 'different', 'orphans', 'identity_mismatch'] as const;
export type ReconcileDifferenceKind = (typeof RECONCILE_DIFFERENCE_KINDS)[number];

/** Per entity and target: the figures of the newest completed reconcile that checked the target. */
export interface LastReconcileRow extends Record<ReconcileDifferenceKind, number> {
  entity: string;
  target: string;
  clean: boolean;
  finishedAtMs: number;
}

const countAt = (key: string) =>
  `CASE WHEN jsonb_typeof(t.value->'${key}') = 'number' THEN (t.value->>'${key}')::float8 ELSE 0 END`;

/**
 * For the Prometheus gauges: per entity and target, the newest completed reconcile report that covered the target
 * (a reconcile may name some targets only), read from reconcile_reports' `targets` array in one query. Only
 * entities that still exist, and targets still in their configuration, are reported.
 */
export async function lastReconciles(prisma: Prisma): Promise<LastReconcileRow[]> {
  const rows = await prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(`
    SELECT DISTINCT ON (r.entity_name, t.value->>'target')
           r.entity_name AS entity, t.value->>'target' AS target,
           ${countAt('missing')} AS missing, ${countAt('extra')} AS extra,
           ${countAt('different')} AS different, ${countAt('orphans')} AS orphans,
           ${countAt('identityMismatch')} AS identity_mismatch,
           (t.value->'clean') = 'true'::jsonb AS clean,
           (extract(epoch FROM coalesce(r.finished_at, r.started_at)) * 1000)::float8 AS "finishedAtMs"
      FROM reconcile_reports r
      JOIN entities e ON e.name = r.entity_name
     CROSS JOIN LATERAL jsonb_array_elements(
             CASE WHEN jsonb_typeof(r.targets) = 'array' THEN r.targets ELSE '[]'::jsonb END) t
     WHERE r.status = 'completed'
       AND jsonb_typeof(t.value) = 'object' AND t.value ? 'target'
       AND EXISTS (
             SELECT 1 FROM jsonb_array_elements(
                      CASE WHEN jsonb_typeof(e.config->'targets') = 'array' THEN e.config->'targets' ELSE '[]'::jsonb END) c
              WHERE c->>'name' = t.value->>'target')
     ORDER BY r.entity_name, t.value->>'target', coalesce(r.finished_at, r.started_at) DESC, r.uid DESC`);
  return rows.map((r) => ({
    entity: String(r.entity),
    target: String(r.target),
    missing: Number(r.missing),
    extra: Number(r.extra),
    different: Number(r.different),
    orphans: Number(r.orphans),
    identity_mismatch: Number(r.identity_mismatch),
    clean: r.clean === true,
    finishedAtMs: Number(r.finishedAtMs),
  }));
}
