import { describe, expect, it } from 'vitest';
import {
  fieldErrorsMessage,
  MASK,
  maskAll,
  maskFieldErrors,
  maskPreviewFields,
  maskSourceRow,
  maskTargetRecord,
  sensitiveFields,
} from '../../../pipeline/mask.ts';

const fields = sensitiveFields({
  fields: [
    { source: 'PART_NO', target: 'part_no' },
    { source: 'SSN', target: 'ssn', sensitive: true },
    { source: 'meta.salary', target: 'salary', sensitive: true },
    { source: 'NOTE', target: 'note', sensitive: false },
  ],
});

describe('masking sensitive fields', () => {
  it('masks raw rows by source name, dotted names into nested documents, and leaves the input as it was', () => {
    const row = { PART_NO: 'p1', SSN: '123-45-6789', meta: { salary: 100_000, team: 'a' }, NOTE: 'n' };
    const copy = structuredClone(row);
    expect(maskSourceRow(row, fields)).toEqual({
      PART_NO: 'p1',
      SSN: MASK,
      meta: { salary: MASK, team: 'a' },
      NOTE: 'n',
    });
    expect(row).toEqual(copy);
  });

  it('prefers a key that contains the dot itself (a CSV header), as reading does', () => {
    expect(maskSourceRow({ 'meta.salary': 5, meta: { salary: 6 } }, fields)).toEqual({
      'meta.salary': MASK,
      meta: { salary: 6 },
    });
  });

  it('adds nothing that was not there, and passes non-objects through', () => {
    expect(maskSourceRow({ PART_NO: 'p1', meta: 'flat' }, fields)).toEqual({ PART_NO: 'p1', meta: 'flat' });
    expect(maskSourceRow(null, fields)).toBeNull();
    expect(maskSourceRow(['x'], fields)).toEqual(['x']);
    expect(maskTargetRecord({ part_no: 'P1' }, fields)).toEqual({ part_no: 'P1' });
  });

  it('masks normalized and mapped records and field errors by target name', () => {
    expect(maskTargetRecord({ part_no: 'P1', ssn: '1', salary: null }, fields)).toEqual({
      part_no: 'P1',
      ssn: MASK,
      salary: MASK,
    });
    const errors = [
      { field: 'ssn', code: 'pattern', message: 'not a number: "12-x"', value: '12-x' },
      { field: 'part_no', code: 'required', message: 'part_no is required', value: null },
    ];
    expect(maskFieldErrors(errors, fields)).toEqual([
      { field: 'ssn', code: 'pattern', message: 'not a number: "***"', value: MASK },
      errors[1],
    ]);
    expect(maskFieldErrors({ permanent: true }, fields)).toEqual({ permanent: true });
    // Every field (viewers): the values go, the messages stay readable.
    expect(maskFieldErrors([{ field: 'qty', message: 'outside [0, 10]', value: 42 }], 'all')).toEqual([
      { field: 'qty', message: 'outside [0, 10]', value: MASK },
    ]);
    expect(fieldErrorsMessage(maskFieldErrors(errors, fields))).toBe(
      'ssn: not a number: "***"; part_no: part_no is required',
    );
    expect(fieldErrorsMessage({ permanent: true })).toBeNull();
  });

  it('masks every layer of a sensitive field in a preview, the error value too', () => {
    const preview = {
      part_no: { source: ' p1 ', strings: 'P1' },
      ssn: {
        source: '123',
        types: '123',
        strings: '123',
        error: { field: 'ssn', layer: 'validate', code: 'pattern', message: 'does not match: 123', value: '123' },
      },
    };
    expect(maskPreviewFields(preview, fields)).toEqual({
      part_no: { source: ' p1 ', strings: 'P1' },
      ssn: {
        source: MASK,
        types: MASK,
        strings: MASK,
        error: { field: 'ssn', layer: 'validate', code: 'pattern', message: 'does not match: ***', value: MASK },
      },
    });
  });

  it('masks everything when the fields are unknown', () => {
    expect(maskAll({ a: 1, b: { c: 2 } })).toEqual({ a: MASK, b: MASK });
    expect(maskAll(null)).toBeNull();
    expect(maskAll('x')).toBe(MASK);
  });
});
