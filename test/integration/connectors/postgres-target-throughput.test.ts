import { afterAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import pg from 'pg';
import { createTarget } from '../../../connectors/factory.ts';
import type { TargetRecord } from '../../../pipeline/target-record.ts';
import { pgConnection } from '../../support/harness.ts';

/**
 * The PostgreSQL target is the 1M-row benchmark's hot path. This prints its
 * throughput (no timing assertion: machines differ); the count check proves
 * every row landed. SYNCFLOW_THROUGHPUT_ROWS=200000 for the full measurement.
 */
const databaseUrl = inject('databaseUrl');
const schema = 'conn_pg_throughput';
const ROWS = Number(process.env.SYNCFLOW_THROUGHPUT_ROWS ?? 20_000);
const BATCH = 10_000;

function records(from: number, to: number, version: number): TargetRecord[] {
  const out: TargetRecord[] = [];
  for (let n = from; n < to; n++) {
    out.push({
      bkHash: n.toString(16).padStart(32, '0'),
      dataHash: `${version}-${n}`,
      rowversion: String(version * 10_000_000 + n),
      refStr: `items[part_no=P-${n}]`,
      data: {
        part_no: `P-${n}`,
        description: `Part number ${n} with a description`,
        qty: n % 1000,
        price: (n % 977) * 1.25,
        made_on: '2024-05-01',
        active: n % 3 === 0,
      },
    });
  }
  return out;
}

describe('PostgreSQL target throughput', () => {
  const target = createTarget(
    { type: 'postgres', name: 'bench', role: 'primary', connection: 'local', schema, table: 'items' },
    pgConnection(databaseUrl),
  );
  afterAll(async () => {
    await target.close();
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it(`upserts ${ROWS} rows in batches of ${BATCH}, then re-applies and updates them`, async () => {
    await target.ensure([
      { name: 'part_no', kind: 'string' },
      { name: 'description', kind: 'string' },
      { name: 'qty', kind: 'integer' },
      { name: 'price', kind: 'number' },
      { name: 'made_on', kind: 'date' },
      { name: 'active', kind: 'boolean' },
    ]);
    const run = async (label: string, version: number, as: 'inserts' | 'updates') => {
      const started = performance.now();
      let ok = 0;
      for (let from = 0; from < ROWS; from += BATCH) {
        const batch = records(from, Math.min(ROWS, from + BATCH), version);
        const results = await target.apply({
          inserts: as === 'inserts' ? batch : [],
          updates: as === 'updates' ? batch : [],
          deletes: [],
        });
        ok += results.filter((r) => r.ok).length;
      }
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `[throughput] ${label}: ${ROWS} rows in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds)} rows/s`,
      );
      expect(ok).toBe(ROWS);
    };
    await run('insert', 1, 'inserts');
    await run('re-apply unchanged', 1, 'inserts');
    await run('update all', 2, 'updates');
    const stored = await target.fetchByBkHash([(ROWS - 1).toString(16).padStart(32, '0')]);
    expect(stored[0]?.dataHash).toBe(`2-${ROWS - 1}`);
  });
});
