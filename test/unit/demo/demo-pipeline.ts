import { demoEntities } from '../../../demo/entities.ts';
import type { DemoTableName } from '../../../demo/erp-schema.ts';
import type { EntityConfig } from '../../../pipeline/entity-config.ts';
import type { FieldError } from '../../../pipeline/errors.ts';
import { createNormalizer, type NormalizedValues, type SourceRow } from '../../../pipeline/normalize/engine.ts';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.ts';
import { createRowValidator } from '../../../pipeline/validate/validator.ts';

/** The demo entities as parsed configs, keyed by table (connections do not matter to the pipeline). */
export function demoConfigs(): Record<DemoTableName, EntityConfig> {
  const inputs = demoEntities({});
  const configs = inputs.map((input) => {
    const parsed = parseEntityConfig(input);
    if (!parsed.ok) throw new Error(`${input.name}: ${JSON.stringify(parsed.errors)}`);
    return parsed.config;
  });
  return Object.fromEntries(configs.map((c) => [c.name, c])) as Record<DemoTableName, EntityConfig>;
}

export interface PipelineOutcome {
  /** Normalized values of the rows that passed both stages, by input index. */
  valid: Map<number, NormalizedValues>;
  /** Field errors of the rows that failed, by input index, with the stage that stopped them. */
  failed: Map<number, { stage: 'normalize' | 'validate'; errors: FieldError[] }>;
}

/** NORMALIZE then VALIDATE, exactly as the page pipeline chains them (pipeline/page.ts). */
export function runStages(config: EntityConfig, rows: readonly SourceRow[]): PipelineOutcome {
  const normalized = createNormalizer(config).normalizeRows(rows);
  const validated = createRowValidator(config).validateRows(normalized.valid);
  const failed: PipelineOutcome['failed'] = new Map();
  for (const f of normalized.failed) failed.set(f.index, { stage: 'normalize', errors: f.errors });
  for (const f of validated.failed) failed.set(f.index, { stage: 'validate', errors: f.errors });
  return { valid: new Map(validated.valid.map((r) => [r.index, r.values])), failed };
}
