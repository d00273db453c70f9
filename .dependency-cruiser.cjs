/**
 * SyncFlow's import structure, checked by `npm run lint:deps` (part of `npm run lint`) and by
 * test/unit/architecture.test.ts (part of `npm test`).
 *
 * Layers, imports pointing inward only:
 *
 *   api, cli, worker, bin  →  control  →  workflows  →  activities  →  db, connectors  →  pipeline
 *
 * infra and config are leaves: the outer layers use them, they import none of the layers (config not even
 * infra). log/ (the process's logger) is shared: every layer may use it, and it imports nothing of the
 * application. Besides the layering:
 * - no cycle, type-only imports included (a type cycle is still two modules that cannot be read apart);
 * - pipeline/ imports nothing from connectors/ (db/ and connectors/ are one layer, above pipeline);
 * - activities/ imports nothing from workflows/ but types from the contract (workflows/contract.ts);
 * - workflows/ import activities only as `import type` (the activity contract, activities/contract.ts:
 *   the workflow sandbox must never load activity code).
 *
 * No violation is tolerated: there is no list of known ones, and any violation fails the check.
 */

/** Path pattern of one top-level folder. */
const dir = (...names) => `^(${names.join('|')})/`;

const layers = {
  outer: ['api', 'cli', 'worker', 'bin'],
  control: ['control'],
  workflows: ['workflows'],
  activities: ['activities'],
  io: ['db', 'connectors'],
  pipeline: ['pipeline'],
};
const leaves = ['infra', 'config'];
/** Used by every layer, importing none: the logger. */
const shared = ['log'];
const order = ['outer', 'control', 'workflows', 'activities', 'io', 'pipeline'];

/** One rule a layer: it imports nothing from the layers outside it. */
const upward = order.slice(1).map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `${layers[layer].join(', ')} may import only from the layers inside it (${
    order
      .slice(i + 2)
      .flatMap((l) => layers[l])
      .join(', ') || 'none'
  }), never from ${order
    .slice(0, i + 1)
    .flatMap((l) => layers[l])
    .join(', ')}.`,
  severity: 'error',
  from: { path: dir(...layers[layer]) },
  to: {
    path: dir(...order.slice(0, i + 1).flatMap((l) => layers[l])),
    // activities → the workflows' contract, types only: its own rule below.
    ...(layer === 'activities' ? { pathNot: '^workflows/contract\\.ts$' } : {}),
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'activities-use-workflow-contract-types-only',
      comment: 'activities/ may import workflows/contract.ts with `import type` only (no workflow code at run time).',
      severity: 'error',
      from: { path: dir('activities') },
      to: { path: '^workflows/contract\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-import-activities-as-types',
      comment: 'The workflow sandbox never loads activity code: workflows/ import activities/ with `import type` only.',
      severity: 'error',
      from: { path: dir('workflows') },
      to: { path: dir('activities'), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'leaves-import-no-layer',
      comment: 'infra/ and config/ are leaves: the outer layers use them, they import none of the layers.',
      severity: 'error',
      from: { path: dir(...leaves) },
      to: { path: dir(...order.flatMap((l) => layers[l])) },
    },
    {
      name: 'shared-imports-nothing-of-the-application',
      comment: 'log/ is used by every layer, so it imports none of them (nor infra, config).',
      severity: 'error',
      from: { path: dir(...shared) },
      to: { path: dir(...order.flatMap((l) => layers[l]), ...leaves) },
    },
    {
      name: 'config-imports-no-infra',
      comment: 'config/ is the innermost leaf.',
      severity: 'error',
      from: { path: dir('config') },
      to: { path: dir('infra') },
    },
    {
      name: 'inner-layers-use-no-infra',
      comment: 'infra/ and config/ are for the outer layers (processes, API, CLI, control), not for the sync code.',
      severity: 'error',
      from: { path: dir('workflows', 'activities', 'db', 'connectors', 'pipeline') },
      to: { path: dir(...leaves) },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // What the layering speaks of: the application's own folders (tests, scripts, benchmarks and the demo
    // may import whatever they exercise).
    includeOnly: `^(${[...order.flatMap((l) => layers[l]), ...leaves, ...shared].join('|')})/`,
    // Not even read: dependencies, generated and scratch folders.
    exclude: { path: '^(node_modules|\\.syncflow|\\.git|scratch|prisma)/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: `import type` cycles and layer breaks are still breaks.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
