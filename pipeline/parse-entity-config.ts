import type { z } from 'zod';
import { type EntityConfig, entityConfigSchema, referenceIssues } from './entity-config.js';
import { buildFieldPlans } from './normalize/field-plan.js';

/**
 * The edge where an entity configuration is checked, once: structure,
 * cross-field references and defaults (each default must survive its own
 * field's normalization). Every offending path is named in one answer.
 */
export interface ConfigProblem {
  /** e.g. `fields[2].target`, `businessKey[0]`, `targets`. */
  path: string;
  message: string;
}
export type ParsedEntityConfig = { ok: true; config: EntityConfig } | { ok: false; errors: ConfigProblem[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

function problemsOf(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

export function parseEntityConfig(input: unknown): ParsedEntityConfig {
  const parsed = entityConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = problemsOf(parsed.error.issues);
    // zod skips the whole-object refinement when members failed: run it on the raw input so no path is missed.
    const raw = input !== null && typeof input === 'object' ? input : {};
    for (const issue of referenceIssues(raw)) {
      const problem = { path: formatPath(issue.path), message: issue.message };
      if (!problems.some((p) => p.path === problem.path && p.message === problem.message)) problems.push(problem);
    }
    return { ok: false, errors: problems };
  }
  const plans = buildFieldPlans(parsed.data);
  const errors: ConfigProblem[] = [];
  plans.forEach((plan, i) => {
    if (plan.defaultProblem) errors.push({ path: formatPath(['fields', i, 'default']), message: plan.defaultProblem });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config: parsed.data };
}
