import path from 'node:path';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The import structure (.dependency-cruiser.cjs): no cycle, no upward import across the layers
 * api/cli/worker/bin → control → workflows → activities → db/connectors → pipeline, infra and config as
 * leaves, pipeline/ free of connectors/, activities/ free of workflows/ but for the contract's types, and the
 * workflows importing activities as types only. The same check as `npm run lint:deps`, here so that the
 * README's test command enforces it too. No violation is tolerated.
 */
const root = path.resolve(import.meta.dirname, '../..');

const describeViolation = (v: IViolation) =>
  `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`;

describe('import structure', () => {
  let result: ICruiseResult;

  beforeAll(async () => {
    const options = await extractDepcruiseOptions(path.join(root, '.dependency-cruiser.cjs'));
    const reported = await cruise(
      ['.'],
      { ...options, baseDir: root, validate: true },
      {},
      { tsConfig: extractTSConfig(path.join(root, 'tsconfig.json')) },
    );
    result = reported.output as ICruiseResult;
  }, 120_000);

  it('cruises every layer', () => {
    const modules = new Set(result.modules.map((m) => m.source));
    for (const file of [
      'api/app.ts',
      'cli/main.ts',
      'control/syncs.ts',
      'workflows/sync-entity.ts',
      'activities/contract.ts',
      'db/identity-store.ts',
      'connectors/types.ts',
      'pipeline/accounting.ts',
      'infra/index.ts',
    ]) {
      expect(modules, file).toContain(file);
    }
    // Type-only imports are seen (and so checked): the workflows reach the activities only through them.
    const workflow = result.modules.find((m) => m.source === 'workflows/sync-entity.ts')!;
    const contract = workflow.dependencies.find((d) => d.resolved === 'activities/contract.ts');
    expect(contract?.dependencyTypes).toContain('type-only');
  });

  it('has no cycle, no upward import and no other forbidden import', () => {
    const errors = result.summary.violations.filter((v) => v.rule.severity === 'error' || v.rule.severity === 'warn');
    expect(errors.map(describeViolation)).toEqual([]);
  });
});
