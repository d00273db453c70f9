import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../pipeline/delta/delta.ts';
import { entityConfigSchema } from '../../../pipeline/entity-config.ts';
import { orderParentsFirst } from '../../../pipeline/entity-order.ts';
import { identityHashers } from '../../../pipeline/identity/hashers.ts';
import { createIdentityComputer } from '../../../pipeline/identity/identity.ts';
import { applyBatchOf, targetCallsFor, writeOrder } from '../../../pipeline/ingest/plan.ts';
import { countPage } from '../../../pipeline/page-counts.ts';
import { childRetryDelayMs, createParentResolver } from '../../../pipeline/resolve/parents.ts';

const entity = (name: string, extra: object = {}) =>
  entityConfigSchema.parse({
    name,
    source: { type: 'postgres', connection: 'erp', table: name },
    targets: [{ type: 'postgres', name: 'main', connection: 'warehouse', table: name }],
    businessKey: ['part_no', 'plant'],
    fields: [
      { source: 'part_no', target: 'part_no' },
      { source: 'plant', target: 'plant' },
      { source: 'ref_part', target: 'ref_part' },
      { source: 'ref_plant', target: 'ref_plant' },
    ],
    ...extra,
  });

describe('RESOLVE: parent references', () => {
  it("computes the parent's bk_hash exactly as the parent's own IDENTITY stage does", async () => {
    const items = entity('items');
    const orders = entity('orders', {
      parents: [{ entity: 'items', fields: { ref_plant: 'plant', ref_part: 'part_no' } }],
    });
    const resolve = createParentResolver(orders, new Map([['items', items]]), await identityHashers());
    const parentIdentity = (await createIdentityComputer(items)).identify({ part_no: 'P-1', plant: 'DE01' });
    const [ref] = resolve({ part_no: 'O-9', plant: 'X', ref_part: 'P-1', ref_plant: 'DE01' });
    expect(ref).toEqual({
      parentEntity: 'items',
      parentBkHash: parentIdentity.bkHash,
      parentRef: parentIdentity.reference,
    });
  });

  it('a reference whose fields are all null means no parent; a partial one still names the parent', async () => {
    const items = entity('items');
    const orders = entity('orders', {
      parents: [{ entity: 'items', fields: { ref_part: 'part_no', ref_plant: 'plant' } }],
    });
    const resolve = createParentResolver(orders, new Map([['items', items]]), await identityHashers());
    expect(resolve({ ref_part: null, ref_plant: null })).toEqual([]);
    expect(resolve({ ref_part: 'P-1', ref_plant: null })).toHaveLength(1);
  });

  it("refuses a relation that does not cover the parent's whole business key", async () => {
    const items = entity('items');
    const orders = entity('orders', { parents: [{ entity: 'items', fields: { ref_part: 'part_no' } }] });
    expect(() =>
      createParentResolver(orders, new Map([['items', items]]), { bkHash: String, dataHash: String }),
    ).toThrow(/missing: plant/);
  });

  it('backs off exponentially, capped at one hour', () => {
    expect([1, 2, 3, 4].map((n) => childRetryDelayMs(1, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(childRetryDelayMs(60, 30)).toBe(3_600_000);
  });
});

describe('parents-first ordering', () => {
  it('orders any request parents first and names a cycle', () => {
    const e = (name: string, parents: string[] = []) => ({
      name,
      parents: parents.map((p) => ({ entity: p, fields: { a: 'b' } })),
    });
    expect(orderParentsFirst([e('lines', ['orders']), e('orders', ['items']), e('items')])).toEqual([
      'items',
      'orders',
      'lines',
    ]);
    expect(orderParentsFirst([e('lines', ['orders'])])).toEqual(['lines']); // a parent outside the request is ignored
    expect(() => orderParentsFirst([e('a', ['b']), e('b', ['a'])])).toThrow(/cycle: a → b → a/);
  });
});

const decision = (operation: Decision['operation'], index: number): Decision => ({
  operation,
  reason: 'new',
  bkHash: `k${index}`,
  index,
});

describe('INGEST planning and page accounting', () => {
  const decisions = [
    decision('INSERT', 0),
    decision('SKIP', 1),
    decision('UPDATE', 2),
    decision('INSERT', 3),
    decision('UPDATE', 4),
  ];
  const records = decisions.map((d) => ({
    bkHash: d.bkHash,
    dataHash: 'd',
    rowversion: null,
    refStr: d.bkHash,
    data: {},
  }));

  it('writes inserts then updates, without the records that wait for a parent', () => {
    const ready = (i: number) => i !== 3;
    expect(writeOrder(decisions, ready)).toEqual({ inserts: [0], updates: [2, 4] });
    const batch = applyBatchOf(decisions, records, ready);
    expect(batch.inserts.map((r) => r.bkHash)).toEqual(['k0']);
    expect(batch.updates.map((r) => r.bkHash)).toEqual(['k2', 'k4']);
  });

  it('counts target calls: one transaction for PostgreSQL, per op in batches for ScheduleHub', () => {
    const hub = {
      type: 'schedulehub' as const,
      name: 'hub',
      role: 'primary' as const,
      connection: 'planning',
      resource: 'items',
      rpmCap: 600,
      batchSize: 200,
    };
    expect(targetCallsFor(hub, { inserts: 401, updates: 1, deletes: 0 })).toBe(4);
    expect(
      targetCallsFor({ ...hub, type: 'postgres', schema: 'public', table: 't' } as never, {
        inserts: 5000,
        updates: 9,
        deletes: 0,
      }),
    ).toBe(1);
    expect(targetCallsFor(hub, { inserts: 0, updates: 0, deletes: 0 })).toBe(0);
  });

  it('puts every fetched row in exactly one bucket', () => {
    const counts = countPage({
      fetched: 8,
      quarantinedBeforeDelta: 3,
      decisions,
      isWaiting: (i) => i === 3,
      refusedByPrimary: new Set([4]),
    });
    expect(counts).toEqual({ fetched: 8, inserted: 1, updated: 1, skipped: 1, failed: 4, pending: 1, deleted: 0 });
  });
});
