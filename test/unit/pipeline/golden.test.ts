import { readFileSync } from 'node:fs';
import { blake3, xxhash128 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { createIdentityComputer } from '../../../pipeline/identity/identity.js';
import { createNormalizer } from '../../../pipeline/normalize/engine.js';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.js';

/**
 * Golden vectors: raw rows with the normalized values, bk_hash and data_hash
 * they must produce. A failure here means the canonical form changed, which
 * changes every stored hash: regenerate (scripts/regenerate-golden.ts) only on
 * purpose, and say so in docs/pipeline.md.
 */
interface Vector {
  input: Record<string, unknown>;
  normalized?: Record<string, unknown>;
  bkHash?: string;
  dataHash?: string;
  rowversion?: string | null;
  reference?: string;
  errors?: string[];
}
const golden = JSON.parse(readFileSync(new URL('../../fixtures/identity-golden.json', import.meta.url), 'utf8')) as {
  entity: unknown;
  vectors: Vector[];
};

describe('golden identity vectors', async () => {
  const parsed = parseEntityConfig(golden.entity);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const normalizer = createNormalizer(parsed.config);
  const identity = await createIdentityComputer(parsed.config);

  golden.vectors.forEach((vector, i) => {
    it(`vector ${i}: ${vector.reference ?? 'rejected'}`, () => {
      const result = normalizer.normalizeRows([vector.input]);
      if (vector.errors) {
        expect(result.failed[0]?.errors.map((e) => `${e.field}:${e.code}`)).toEqual(vector.errors);
        return;
      }
      const values = result.valid[0]!.values;
      expect(values).toEqual(vector.normalized);
      expect(identity.identify(values)).toEqual({
        bkHash: vector.bkHash,
        dataHash: vector.dataHash,
        rowversion: vector.rowversion,
        reference: vector.reference,
      });
    });
  });

  it('the hashers are plain xxHash128 and BLAKE3 of the canonical text', async () => {
    expect(await xxhash128('part_no=P-100|plant=DE01')).toBe(golden.vectors[0]!.bkHash);
    const expected =
      'active=true|description=Bolt M8|due=2025-12-08|meta={"a":2,"b":1}|qty=10|tags=["x","y"]|updated_at=2025-12-08T09:00:00.000Z';
    expect(await blake3(expected)).toBe(golden.vectors[0]!.dataHash);
  });
});
