/**
 * JSON merge patch (RFC 7396): an object patch merges member by member, a
 * `null` member removes that member, anything else (an array, a scalar)
 * replaces the target wholesale. Pure: neither argument is changed.
 */
const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result = new Map(Object.entries(isObject(target) ? target : {}));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) result.delete(key);
    else result.set(key, applyMergePatch(result.get(key), value));
  }
  // fromEntries defines own properties, so a member named __proto__ stays a member.
  return Object.fromEntries(result);
}

/**
 * An entity configuration patched: RFC 7396, plus one convenience for the
 * field list (an array, which a merge patch can only replace whole): `fields`
 * given as an object keyed by target name merge-patches those fields, `null`
 * removes one, a new name appends it (its `target` set to that name).
 */
export function patchEntityConfig(stored: Record<string, unknown>, patch: Record<string, unknown>): unknown {
  const byTarget = patch.fields;
  if (!isObject(byTarget) || !Array.isArray(stored.fields)) return applyMergePatch(stored, patch);
  const fields: unknown[] = [...stored.fields];
  for (const [target, fieldPatch] of Object.entries(byTarget)) {
    const at = fields.findIndex((f) => isObject(f) && f.target === target);
    if (fieldPatch === null) {
      if (at >= 0) fields.splice(at, 1);
    } else if (at >= 0) {
      fields[at] = applyMergePatch(fields[at], fieldPatch);
    } else {
      fields.push(applyMergePatch({ target }, fieldPatch));
    }
  }
  return { ...(applyMergePatch(stored, { ...patch, fields: null }) as Record<string, unknown>), fields };
}
