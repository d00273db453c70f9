/**
 * Issue 13: the identity-store cost of writing `pending` before each send. For N records in pages of 10,000:
 * (a) TRACK's write alone (a first full sync: every row new), (b) markSent then TRACK's write. Interleaved,
 * median of the runs, on a throwaway PostgreSQL. Usage: npx tsx bench/pending-cost.ts [N] [runs]
 */
import { randomUUID } from 'node:crypto';
import { createPool } from '../connectors/postgres/pool.ts';
import { type IdentityWrite, markSent, writeIdentities } from '../db/identity-store.ts';
import { startInfrastructure } from '../infra/index.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 3);
const PAGE = 10_000;
const infra = await startInfrastructure({ throwaway: true, searchAttributes: [] });
const pool = createPool(infra.database.url);
const hex = (n: number, salt: string) => (salt + n.toString(16)).padStart(32, '0');
const rows = (salt: string): IdentityWrite[] =>
  Array.from({ length: N }, (_, i) => ({
    bkHash: hex(i, salt),
    dataHash: hex(i * 7, 'd'),
    sourceHash: hex(i * 3, 'e'),
    rowversion: String(i),
    refStr: `bench[part_no=P-${i}]`,
    targetUid: null,
    status: 'synced' as const,
    error: null,
  }));

async function run(withPending: boolean): Promise<number> {
  const entity = `pc_${randomUUID().slice(0, 8)}`;
  const all = rows(withPending ? 'b' : 'a');
  const t0 = performance.now();
  for (let i = 0; i < N; i += PAGE) {
    const page = all.slice(i, i + PAGE);
    const batch = randomUUID();
    if (withPending) await markSent(pool, entity, 'main', batch, page);
    await writeIdentities(pool, entity, 'main', batch, page);
  }
  const ms = performance.now() - t0;
  await pool.query('DELETE FROM identity_streams WHERE entity_name = $1', [entity]);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const plain: number[] = [];
const pending: number[] = [];
for (let r = 0; r < RUNS; r++) {
  plain.push(await run(false));
  pending.push(await run(true));
  console.log(`run ${r + 1}: ack only ${plain.at(-1)!.toFixed(0)} ms, pending + ack ${pending.at(-1)!.toFixed(0)} ms`);
}
console.log(
  `${N} records: ack only ${median(plain).toFixed(0)} ms, pending + ack ${median(pending).toFixed(0)} ms (×${(median(pending) / median(plain)).toFixed(2)})`,
);
await pool.end();
await infra.stop();
