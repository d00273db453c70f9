import { describe, expect, it } from 'vitest';
import { createIdentityComputer } from '../../../pipeline/identity/identity.js';
import { createNormalizer } from '../../../pipeline/normalize/engine.js';
import { createRowValidator } from '../../../pipeline/validate/validator.js';
import { entity } from './entity.js';

/** Issue 10, finding 8: a row that failed before DELTA still names its record whenever its key normalized. */
const config = entity({
  source: { type: 'file', connection: 'files', path: 'items.csv', format: 'csv' },
  targets: [{ type: 'postgres', connection: 'warehouse', name: 'main', table: 'items' }],
  businessKey: ['part_no', 'plant'],
  fields: [
    { source: 'PART_NO', target: 'part_no', transformation: 'uppercase' },
    {
      source: 'PLANT',
      target: 'plant',
      valueMap: { values: { de1: 'DE01' }, caseInsensitive: true, unmapped: 'reject' },
      rules: { pattern: '[A-Z]{2}\\d{2}' },
    },
    { source: 'QTY', target: 'qty', type: 'NUMBER', range: { min: 0, max: 10 } },
  ],
});

describe('the business key of a failed row', () => {
  it('is the bk_hash the row would have had when the key fields normalized, null when one did not', async () => {
    const identity = await createIdentityComputer(config);
    const normalized = createNormalizer(config).normalizeRows([
      { PART_NO: ' p-1 ', PLANT: 'DE01', QTY: '99' }, // qty out of range: the key is fine
      { PART_NO: 'p-2', PLANT: '   ', QTY: '1' }, // a blank key field
      { PART_NO: 'p-3', PLANT: 'ZZ99', QTY: 'x' }, // plant fails NORMALIZE (not in its value map)
    ]);
    const keys = normalized.failed.map((f) => identity.failedRowKey(f.values, f.errors));
    expect(keys).toEqual([identity.identify({ part_no: 'P-1', plant: 'DE01' }).bkHash, null, null]);

    // A key field that fails a VALIDATE rule still names its record: the normalized value is the identity.
    const validated = createRowValidator(config).validateRows([
      { index: 0, values: { part_no: 'P-4', plant: 'x', qty: 1 } },
    ]);
    const failed = validated.failed[0]!;
    expect(failed.errors[0]).toMatchObject({ field: 'plant', code: 'pattern' });
    expect(identity.failedRowKey(failed.values, failed.errors)).toBe(
      identity.identify({ part_no: 'P-4', plant: 'x' }).bkHash,
    );
    expect(
      identity.failedRowKey({}, [{ field: '*', layer: 'types', code: 'unreadable_row', message: '', value: null }]),
    ).toBeNull();
  });
});
