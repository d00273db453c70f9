/**
 * Rewrites test/fixtures/identity-golden.json from the current code. NOT run
 * by the tests: the whole point of the fixture is that a change to the
 * canonical rendering or the hashing fails loudly. Run it only for a
 * deliberate, documented change of the canonical form (which also means
 * every stored data_hash changes):  npx tsx scripts/regenerate-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { createIdentityComputer } from '../pipeline/identity/identity.js';
import { createNormalizer } from '../pipeline/normalize/engine.js';
import { parseEntityConfig } from '../pipeline/parse-entity-config.js';

const entity = {
  name: 'items',
  source: { type: 'file', connection: 'drops', path: 'items.csv', format: 'csv' },
  targets: [{ type: 'postgres', name: 'main', connection: 'warehouse', table: 'items' }],
  businessKey: ['part_no', 'plant'],
  rowversionField: 'row_version',
  sourceTimeZone: 'Europe/Berlin',
  fields: [
    { source: 'PART_NO', target: 'part_no', transformation: 'uppercase' },
    { source: 'PLANT', target: 'plant' },
    { source: 'DESCRIPTION', target: 'description' },
    { source: 'QTY', target: 'qty', type: 'NUMBER' },
    { source: 'DUE', target: 'due', type: 'DATE' },
    { source: 'UPDATED', target: 'updated_at', type: 'TIMESTAMP' },
    { source: 'ACTIVE', target: 'active', type: 'BOOLEAN' },
    { source: 'META', target: 'meta', type: 'jsonb' },
    { source: 'TAGS', target: 'tags', list: true },
    { source: 'ROWVERSION', target: 'row_version', type: 'NUMBER' },
  ],
};

const inputs = [
  {
    PART_NO: 'p-100',
    PLANT: 'DE01',
    DESCRIPTION: 'Bolt M8',
    QTY: '10',
    DUE: '2025-12-08',
    UPDATED: '2025-12-08 10:00',
    ACTIVE: 'Y',
    META: { b: 1, a: 2 },
    TAGS: ['x', 'y'],
    ROWVERSION: 1,
  },
  {
    PART_NO: 'P-100',
    PLANT: 'DE01',
    DESCRIPTION: 'Bolt  M8 ',
    QTY: '10.00',
    DUE: '08.12.2025',
    UPDATED: '2025-12-08T09:00:00Z',
    ACTIVE: '1',
    META: '{"a":2,"b":1}',
    TAGS: ['x', 'y', 'x'],
    ROWVERSION: 2,
  },
  {
    PART_NO: 'P-100',
    PLANT: 'DE02',
    DESCRIPTION: null,
    QTY: '(1,234.50)',
    DUE: '20251208',
    UPDATED: '2025-03-30 02:30',
    ACTIVE: 'N',
    META: null,
    TAGS: 'solo',
    ROWVERSION: '3',
  },
  {
    PART_NO: 'a|b=c',
    PLANT: 'X\\Y',
    DESCRIPTION: 'pipe | equals = backslash \\',
    QTY: '12345678901234567890.12',
    DUE: '2024-02-29',
    UPDATED: '2025-10-26 02:30',
    ACTIVE: 'true',
    META: [1, { z: null, a: 'é' }],
    TAGS: [],
    ROWVERSION: '123456789012345678901234567890',
  },
  {
    PART_NO: 'Cafe\u0301',
    PLANT: '  DE01\r\n',
    DESCRIPTION: 'line1\r\nline2\u0000',
    QTY: 1e-7,
    DUE: '2025-12-08T23:30:00Z',
    UPDATED: '2025-12-08T10:00:00.123456+01:00',
    ACTIVE: false,
    META: { nested: { y: [3, 2], x: true } },
    TAGS: ['Ann', ' Ann ', 'Bob'],
    ROWVERSION: null,
  },
  {
    PART_NO: '0',
    PLANT: '',
    DESCRIPTION: '0',
    QTY: -0,
    DUE: null,
    UPDATED: null,
    ACTIVE: null,
    META: {},
    TAGS: null,
    ROWVERSION: 0,
  },
];

const parsed = parseEntityConfig(entity);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const normalizer = createNormalizer(parsed.config);
const identity = await createIdentityComputer(parsed.config);
const vectors = inputs.map((input) => {
  const result = normalizer.normalizeRows([input]);
  const row = result.valid[0];
  if (!row) return { input, errors: result.failed[0]!.errors.map((e) => `${e.field}:${e.code}`) };
  return { input, normalized: row.values, ...identity.identify(row.values) };
});
const target = new URL('../test/fixtures/identity-golden.json', import.meta.url);
writeFileSync(target, `${JSON.stringify({ entity, vectors }, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${target.pathname}`);
