import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import '../../support/provided.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import {
  countDeleteCandidates,
  type IdentityWrite,
  markSent,
  presentIn,
  readStoredIdentities,
  storeSourceHashes,
  writeIdentities,
} from '../../../db/identity-store.ts';

/**
 * Issue 15: writeIdentities COPYs a page's identity rows into a temporary table (ON COMMIT DROP) and applies
 * them with one INSERT … SELECT … ON CONFLICT. The semantics it must keep, against real PostgreSQL: a failed
 * write keeps what the target last acknowledged (data_hash, rowversion, synced_at, target_uid) and counts the
 * attempt; a synced write resets attempts and revives a deleted record; text with tabs, newlines and
 * backslashes survives COPY; it writes in the caller's transaction (TRACK, several targets in a row) or in one
 * of its own (a pool, as the release of children calls it).
 */
const databaseUrl = inject('databaseUrl');
const entity = `idw_${randomUUID().slice(0, 8)}`;
const batch1 = randomUUID();
const batch2 = randomUUID();
let pool: pg.Pool;

const hash = (n: number) => n.toString(16).padStart(32, '0');
/** A data hash as the store keeps it (bytes, read back as hex): a readable label in hex. */
const dh = (label: string) => Buffer.from(label).toString('hex');
const write = (n: number, overrides: Partial<IdentityWrite> = {}): IdentityWrite => ({
  bkHash: hash(n),
  dataHash: dh(`d${n}`),
  sourceHash: null,
  rowversion: String(n),
  refStr: `items[part_no=P-${n}]`,
  targetUid: hash(n),
  status: 'synced',
  error: null,
  ...overrides,
});

async function stored(target: string, n: number) {
  const { rows } = await pool.query(
    `SELECT data_hash, rowversion, ref_str, target_uid, sync_status, sync_error, attempts, last_batch_uid,
            synced_at, deleted_at, last_attempt_at,
            source_hash
       FROM identity_status WHERE entity_name = $1 AND target_name = $2 AND bk_hash = $3`,
    [entity, target, hash(n)],
  );
  return rows[0];
}

beforeAll(async () => {
  pool = createPool(databaseUrl);
});
afterAll(async () => {
  await pool.query('DELETE FROM identity_streams WHERE entity_name = $1', [entity]); // cascades to its records
  await pool.end();
});

describe('writeIdentities', () => {
  it('writes new rows from a pool (its own transaction), text kept exactly', async () => {
    await writeIdentities(pool, entity, 'main', batch1, [
      write(1),
      write(2, { rowversion: null, targetUid: null, refStr: 'tab\there\nnew line \\ backslash \\N' }),
      write(3, { status: 'failed', error: 'invalid_value: bad\tdate\r\n"x"' }),
    ]);
    expect(await stored('main', 1)).toMatchObject({
      data_hash: dh('d1'),
      rowversion: '1',
      ref_str: 'items[part_no=P-1]',
      target_uid: hash(1),
      sync_status: 'synced',
      sync_error: null,
      attempts: 1,
      last_batch_uid: batch1,
      deleted_at: null,
    });
    expect((await stored('main', 1)).synced_at).not.toBeNull();
    expect(await stored('main', 2)).toMatchObject({
      rowversion: null,
      target_uid: null,
      ref_str: 'tab\there\nnew line \\ backslash \\N',
    });
    expect(await stored('main', 3)).toMatchObject({
      sync_status: 'failed',
      sync_error: 'invalid_value: bad\tdate\r\n"x"',
      synced_at: null,
      attempts: 1,
    });
    const delta = await readStoredIdentities(pool, entity, 'main', [hash(1), hash(2), hash(3)]);
    expect([...delta.keys()].sort()).toEqual([hash(1), hash(2)]); // a failed record is not "held" for DELTA
  });

  it('a failed write keeps what the target last acknowledged; a synced one replaces it', async () => {
    const before = await stored('main', 1);
    await pool.query(
      `UPDATE identity_records SET deleted_at = now()
        WHERE stream_id = (SELECT id FROM identity_streams WHERE entity_name = $1 AND target_name = 'main')
          AND bk_hash = decode($2, 'hex')`,
      [entity, hash(1)],
    );
    await writeIdentities(pool, entity, 'main', batch2, [
      write(1, {
        dataHash: dh('d1-new'),
        rowversion: '11',
        refStr: 'items[part_no=P-1 renamed]',
        targetUid: null,
        status: 'failed',
        error: 'constraint_violation: no',
      }),
    ]);
    const failed = await stored('main', 1);
    expect(failed).toMatchObject({
      data_hash: dh('d1'), // what the target holds: DELTA still compares against it
      rowversion: '1',
      ref_str: 'items[part_no=P-1 renamed]',
      target_uid: hash(1), // kept when the failure names none
      sync_status: 'failed',
      sync_error: 'constraint_violation: no',
      attempts: 2,
      last_batch_uid: batch2,
    });
    expect(failed.synced_at).toEqual(before.synced_at);
    expect(failed.deleted_at).not.toBeNull(); // a failed write does not revive a deleted record
    expect(failed.last_attempt_at >= before.last_attempt_at).toBe(true); // timestamps as UTC text: ordered as text

    await writeIdentities(pool, entity, 'main', batch2, [write(1, { dataHash: dh('d1-new'), rowversion: '11' })]);
    expect(await stored('main', 1)).toMatchObject({
      data_hash: dh('d1-new'),
      rowversion: '11',
      sync_status: 'synced',
      sync_error: null,
      attempts: 1,
      deleted_at: null,
    });
  });

  it('keeps the source hash the target last acknowledged; storeSourceHashes sets it for unchanged records', async () => {
    await writeIdentities(pool, entity, 'src', batch1, [write(30, { sourceHash: hash(0xa1) }), write(31)]);
    expect(await stored('src', 30)).toMatchObject({ source_hash: hash(0xa1) });
    expect(await stored('src', 31)).toMatchObject({ source_hash: null });
    // A failed write keeps it (DELTA and FETCH still compare against what the target holds); a synced one replaces it.
    await writeIdentities(pool, entity, 'src', batch2, [
      write(30, { sourceHash: hash(0xa2), status: 'failed', error: 'x: y' }),
    ]);
    expect(await stored('src', 30)).toMatchObject({ source_hash: hash(0xa1), sync_status: 'failed' });
    await writeIdentities(pool, entity, 'src', batch2, [write(30, { sourceHash: hash(0xa3) })]);
    expect(await stored('src', 30)).toMatchObject({ source_hash: hash(0xa3), sync_status: 'synced' });
    const read = await readStoredIdentities(pool, entity, 'src', [hash(30), hash(31)]);
    expect(read.get(hash(30))).toMatchObject({ sourceHash: hash(0xa3), dataHash: dh('d30') });
    expect(read.get(hash(31))).toMatchObject({ sourceHash: null });

    await storeSourceHashes(pool, entity, 'src', [{ bkHash: hash(31), sourceHash: hash(0xb1) }]);
    expect(await stored('src', 31)).toMatchObject({ source_hash: hash(0xb1), data_hash: dh('d31') });
    // Another entity's stream is untouched, and an unknown stream matches nothing.
    await storeSourceHashes(pool, `${entity}_other`, 'src', [{ bkHash: hash(30), sourceHash: hash(0xc1) }]);
    expect(await stored('src', 30)).toMatchObject({ source_hash: hash(0xa3) });
  });

  it("writes in the caller's transaction, one target after another, and rolls back with it", async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await writeIdentities(client, entity, 'main', batch2, [write(10), write(11)]);
      await writeIdentities(client, entity, 'secondary', batch2, [write(10, { status: 'failed', error: 'x: y' })]);
      // Not visible outside the transaction yet.
      expect(await stored('main', 10)).toBeUndefined();
      await client.query('ROLLBACK');
      expect(await stored('main', 10)).toBeUndefined();
      expect(await stored('secondary', 10)).toBeUndefined();

      await client.query('BEGIN');
      await writeIdentities(client, entity, 'main', batch2, [write(10), write(11)]);
      await writeIdentities(client, entity, 'secondary', batch2, [write(10, { status: 'failed', error: 'x: y' })]);
      await client.query('COMMIT');
      expect(await stored('main', 10)).toMatchObject({ sync_status: 'synced', data_hash: dh('d10') });
      expect(await stored('main', 11)).toMatchObject({ sync_status: 'synced', data_hash: dh('d11') });
      expect(await stored('secondary', 10)).toMatchObject({ sync_status: 'failed', sync_error: 'x: y' });
      expect(await stored('secondary', 11)).toBeUndefined();

      // An idle client: its own transaction; the temporary table is gone after it.
      await writeIdentities(client, entity, 'main', batch2, [write(12)]);
      expect(await stored('main', 12)).toMatchObject({ sync_status: 'synced' });
      const { rows } = await client.query(`SELECT to_regclass('pg_temp.sf_identity_write') AS t`);
      expect(rows[0].t).toBeNull();
    } finally {
      client.release();
    }
  });

  it('a write PostgreSQL refuses rejects, rolls back, and leaves the connection usable', async () => {
    // The same bk_hash twice in one page: ON CONFLICT cannot touch a row twice in one statement.
    await expect(writeIdentities(pool, entity, 'main', batch1, [write(20), write(20)])).rejects.toMatchObject({
      code: '21000',
    });
    expect(await stored('main', 20)).toBeUndefined();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(writeIdentities(client, entity, 'main', batch1, [write(21), write(21)])).rejects.toMatchObject({
        code: '21000',
      });
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await writeIdentities(client, entity, 'main', batch1, [write(21)]);
      expect(await stored('main', 21)).toMatchObject({ sync_status: 'synced' });
    } finally {
      client.release();
    }
  });

  it('pending: what a target was sent and has not acknowledged, the acknowledged version kept', async () => {
    const batch3 = randomUUID();
    await writeIdentities(pool, entity, 'pend', batch1, [
      write(40, { sourceHash: hash(0xb1) }),
      write(41, { status: 'failed', error: 'server_error: 503' }),
    ]);
    const before = await stored('pend', 40);
    const sent = (n: number) => ({ bkHash: hash(n), dataHash: dh(`d${n}-next`), rowversion: `${n}1`, refStr: `r${n}` });
    await markSent(pool, entity, 'pend', batch3, [sent(40), sent(41), sent(42)]);

    // Acknowledged before: pending, everything it last acknowledged kept.
    expect(await stored('pend', 40)).toMatchObject({
      data_hash: dh('d40'),
      rowversion: '40',
      source_hash: hash(0xb1),
      sync_status: 'pending',
      sync_error: null,
      attempts: 1,
      last_batch_uid: batch3,
    });
    expect((await stored('pend', 40)).synced_at).toEqual(before.synced_at);
    // Failed before: pending, the failure kept until an answer.
    expect(await stored('pend', 41)).toMatchObject({
      sync_status: 'pending',
      sync_error: 'server_error: 503',
      attempts: 1,
    });
    // Never sent before: pending, never acknowledged.
    expect(await stored('pend', 42)).toMatchObject({ sync_status: 'pending', attempts: 0, synced_at: null });

    // DELTA: the acknowledged version, flagged (sent again); the others are not stored (sent as inserts).
    const read = await readStoredIdentities(pool, entity, 'pend', [hash(40), hash(41), hash(42)]);
    expect([...read.keys()]).toEqual([hash(40)]);
    expect(read.get(hash(40))).toMatchObject({ dataHash: dh('d40'), sourceHash: null, unacknowledged: true });
    // A parent the target held before the send is still present for its children.
    expect(await presentIn(pool, entity, 'pend', [hash(40), hash(41), hash(42)])).toEqual(new Set([hash(40)]));
    // A batch that died with records pending: a later full sync that does not see them deletes them (idempotent).
    expect(await countDeleteCandidates(pool, entity, 'pend', randomUUID())).toBe(3);

    // The answer replaces pending.
    await writeIdentities(pool, entity, 'pend', batch3, [
      write(40, { dataHash: dh('d40-next') }),
      write(42, { status: 'failed', error: 'validation_failed: no' }),
    ]);
    expect(await stored('pend', 40)).toMatchObject({ data_hash: dh('d40-next'), sync_status: 'synced', attempts: 1 });
    expect(await stored('pend', 42)).toMatchObject({ sync_status: 'failed', attempts: 1, synced_at: null });
    expect(
      (await readStoredIdentities(pool, entity, 'pend', [hash(40)])).get(hash(40))?.unacknowledged,
    ).toBeUndefined();
  });

  it('a page of 10,000 rows in one call', async () => {
    const many = Array.from({ length: 10_000 }, (_, k) => write(100_000 + k));
    await writeIdentities(pool, entity, 'bulk', batch1, many);
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM identity_status WHERE entity_name = $1 AND target_name = 'bulk'`,
      [entity],
    );
    expect(rows[0].n).toBe(10_000);
  });
});
