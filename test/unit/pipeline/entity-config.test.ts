import { describe, expect, it } from 'vitest';
import { parseEntityConfig } from '../../../pipeline/parse-entity-config.js';
import { entityInput } from './entity.js';

describe('entity configuration', () => {
  it('fills defaults', () => {
    const parsed = parseEntityConfig(entityInput());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.config).toMatchObject({
      deltaStrategy: 'auto',
      pageSize: 1000,
      sourceTimeZone: 'UTC',
      dateOrder: 'DMY',
      decimalSeparator: '.',
      deletePolicy: 'none',
      parents: [],
      maxChildRetries: 5,
      unitCost: 0,
    });
    expect(parsed.config.fields[0]).toMatchObject({ type: 'string', required: false, list: false });
  });

  it('names every offending path in one answer, structural and cross-field alike', () => {
    const parsed = parseEntityConfig({
      ...entityInput(),
      name: 'Items; DROP TABLE',
      pageSize: 50,
      sourceTimeZone: 'Mars/Olympus',
      targets: [
        { type: 'postgres', name: 'main', table: 'items' },
        { type: 'postgres', name: 'main', table: 'items2' },
      ],
      businessKey: ['part_no', 'nope'],
      rowversionField: 'rv',
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'X', target: 'part_no', type: 'NUMBER', transformation: 'uppercase' },
        { source: 'Y', target: 'y', transformation: 'shout' },
      ],
      parents: [{ entity: 'orders', fields: { order_no: 'order_no' } }],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const paths = parsed.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'name',
        'pageSize',
        'sourceTimeZone',
        'fields[2].transformation',
        'fields[1].target',
        'fields[1].transformation',
        'targets[1].name',
        'targets',
        'businessKey[1]',
        'rowversionField',
        'parents[0].fields.order_no',
      ]),
    );
  });

  it('rejects unknown keys, an empty business key and a bad value map', () => {
    const parsed = parseEntityConfig({
      ...entityInput(),
      businessKey: [],
      colour: 'red',
      fields: [{ source: 'A', target: 'a', valueMap: { values: {}, unmapped: 'default' } }],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['businessKey', '(root)', 'fields[0].valueMap.default']),
    );
  });

  it('checks each default against its own field’s normalization', () => {
    const parsed = parseEntityConfig({
      ...entityInput(),
      fields: [
        { source: 'PART_NO', target: 'part_no' },
        { source: 'Q', target: 'qty', type: 'NUMBER', default: 'lots' },
        { source: 'D', target: 'due', type: 'DATE', default: '2025-02-30' },
        { source: 'N', target: 'note', default: '   ' },
      ],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(['fields[1].default', 'fields[2].default', 'fields[3].default']);
  });

  it('needs a rowversion field for the rowversion strategy, and ranges only on numbers', () => {
    const parsed = parseEntityConfig({
      ...entityInput(),
      deltaStrategy: 'rowversion',
      fields: [{ source: 'PART_NO', target: 'part_no', range: { min: 1 } }],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(['fields[0].range', 'rowversionField']);
  });

  it('rejects invalid rule patterns and inverted ranges', () => {
    const parsed = parseEntityConfig({
      ...entityInput(),
      fields: [
        { source: 'PART_NO', target: 'part_no', rules: { pattern: '(' } },
        { source: 'Q', target: 'q', type: 'NUMBER', range: { min: 5, max: 1 } },
      ],
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual(['fields[0].rules.pattern', 'fields[1].range.min']);
  });
});
