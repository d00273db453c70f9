import { type DeltaResult, decideOperations, type StoredIdentity } from './delta/delta.js';
import type { EntityConfig } from './entity-config.js';
import { createIdentityComputer, type IdentityComputer, type RowIdentity } from './identity/identity.js';
import {
  createNormalizer,
  type FailedRow,
  type NormalizedRow,
  type Normalizer,
  type SourceRow,
  type StageMetrics,
} from './normalize/engine.js';
import { createRowValidator, type RowValidator } from './validate/validator.js';

/**
 * The CPU part of one page, NORMALIZE → VALIDATE → IDENTITY → DELTA, for
 * callers that want it in one call (the activity, the preview, the bench).
 * Failed rows carry their stage so the DLQ row says where they stopped.
 */
export interface PageRecord extends NormalizedRow {
  identity: RowIdentity;
}
export interface PageFailure extends FailedRow {
  stage: 'normalize' | 'validate';
}
export interface PageResult {
  records: PageRecord[];
  failures: PageFailure[];
  /** Decision `index` values point into `records`. */
  delta: DeltaResult;
  metrics: { normalize: StageMetrics; validate: StageMetrics };
}
export interface PagePipeline {
  readonly normalizer: Normalizer;
  readonly validator: RowValidator;
  readonly identity: IdentityComputer;
  /** Identities of this page's records, for the identity-store lookup between IDENTITY and DELTA. */
  prepare(rows: readonly SourceRow[]): Omit<PageResult, 'delta'>;
  decide(prepared: Omit<PageResult, 'delta'>, stored: ReadonlyMap<string, StoredIdentity>): PageResult;
}

export async function createPagePipeline(entity: EntityConfig): Promise<PagePipeline> {
  const normalizer = createNormalizer(entity);
  const validator = createRowValidator(entity);
  const identity = await createIdentityComputer(entity);
  return {
    normalizer,
    validator,
    identity,
    prepare(rows) {
      const normalized = normalizer.normalizeRows(rows);
      const validated = validator.validateRows(normalized.valid);
      const records = validated.valid.map((row) => ({ ...row, identity: identity.identify(row.values) }));
      const failures: PageFailure[] = [
        ...normalized.failed.map((f) => ({ ...f, stage: 'normalize' as const })),
        ...validated.failed.map((f) => ({ ...f, stage: 'validate' as const })),
      ];
      return { records, failures, metrics: { normalize: normalized.metrics, validate: validated.metrics } };
    },
    decide(prepared, stored) {
      const delta = decideOperations(
        prepared.records.map((r) => r.identity),
        stored,
        { strategy: entity.deltaStrategy, rowversionFamily: identity.rowversionFamily },
      );
      return { ...prepared, delta };
    },
  };
}
