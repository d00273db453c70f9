import type { EntityConfig } from './entity-config.ts';

/**
 * Orders entities so every parent comes before its children (a topological
 * sort over `parents`). Parents outside the requested set are ignored: they
 * are synced on their own schedule. A cycle is a configuration error.
 */
export function orderParentsFirst(entities: readonly Pick<EntityConfig, 'name' | 'parents'>[]): string[] {
  const requested = new Map(entities.map((e) => [e.name, e]));
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`parent cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const parent of requested.get(name)?.parents ?? []) {
      if (requested.has(parent.entity)) visit(parent.entity, [...path, name]);
    }
    state.set(name, 'done');
    ordered.push(name);
  };
  for (const entity of entities) visit(entity.name, []);
  return ordered;
}
