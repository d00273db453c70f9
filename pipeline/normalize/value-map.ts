import { type Rejection, reject } from '../errors.js';

/**
 * Value maps turn the spellings a source uses into one canonical value
 * (`Book`, `BOOK`, `books` → `book`). The canonical values (and the default)
 * are accepted as themselves, so normalizing an already-normalized value
 * changes nothing even when unmapped values are rejected. Keys are compared
 * after the field's transformation (the same function is applied to them at
 * build time) and, with `caseInsensitive`, in lower case.
 */
export interface ValueMapConfig {
  values: Record<string, string>;
  caseInsensitive: boolean;
  unmapped: 'keep' | 'reject' | 'default';
  default?: string | undefined;
}

export function createValueMapper(
  config: ValueMapConfig,
  prepareKey: (text: string) => string | null,
): (text: string) => string | Rejection {
  const fold = (text: string): string => {
    const prepared = prepareKey(text) ?? '';
    return config.caseInsensitive ? prepared.toLowerCase() : prepared;
  };
  const table = new Map<string, string>();
  for (const canonical of Object.values(config.values)) table.set(fold(canonical), canonical);
  if (config.default !== undefined) table.set(fold(config.default), config.default);
  // Explicit mappings win over the identity entries of canonical values.
  for (const [spelling, canonical] of Object.entries(config.values)) table.set(fold(spelling), canonical);
  const fallback = config.default;
  return (text) => {
    const mapped = table.get(config.caseInsensitive ? text.toLowerCase() : text);
    if (mapped !== undefined) return mapped;
    if (config.unmapped === 'keep') return text;
    if (config.unmapped === 'default' && fallback !== undefined) return fallback;
    return reject('unmapped_value', `no mapping for ${JSON.stringify(text)}`);
  };
}
