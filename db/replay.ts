import type pg from 'pg';
import { jsonb } from './jsonb.ts';

/**
 * Dead-letter replay (workflows/replay-dead-letters.ts): which DLQ records a replay batch takes, how its FETCH
 * reads them page by page, and how TRACK records each one's outcome on the record itself (resolved, or one
 * more attempt with its errors, backed off, abandoned past max_retries).
 */
type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** What a replay takes: unresolved dead letters of one entity, narrowed by any of these. */
export interface ReplaySelection {
  entity: string;
  batchUid?: string | undefined;
  stage?: string | undefined;
  errorType?: string | undefined;
  target?: string | undefined;
  /** Exactly these records (abandoned ones included: an operator may insist). */
  uids?: string[] | undefined;
  /** Only records whose automatic retry is due (the background retry pass). */
  dueOnly?: boolean | undefined;
  /** At most this many records, oldest first. */
  limit: number;
}

/** The selection as it is frozen when the replay starts (kept in the batch's metrics.replay). */
export interface FrozenSelection extends ReplaySelection {
  /** The last record of the selection when it started: records that fail later are not part of it. */
  throughUid: string | null;
  /** The moment "due" was judged (ISO). */
  asOf: string;
  selected: number;
}

/** WHERE clause of the selection (parameters from $1; `extra` more conditions). */
function whereOf(selection: ReplaySelection, asOf: string, extra: string[] = []) {
  const params: unknown[] = [selection.entity];
  const conditions = ['entity_name = $1', 'resolved_at IS NULL', ...extra];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (selection.uids?.length) add((p) => `uid = ANY(${p}::uuid[])`, selection.uids);
  else conditions.push('abandoned_at IS NULL');
  if (selection.batchUid) add((p) => `batch_uid = ${p}::uuid`, selection.batchUid);
  if (selection.stage) add((p) => `stage = ${p}`, selection.stage);
  if (selection.errorType) add((p) => `error_type = ${p}`, selection.errorType);
  if (selection.target) add((p) => `target_name = ${p}`, selection.target);
  if (selection.dueOnly) add((p) => `next_retry_at <= ${p}::timestamptz`, asOf);
  return { where: conditions.join(' AND '), params };
}

/**
 * Freezes a selection: how many records it takes (at most `limit`) and the last of them. Replayable records
 * carry their raw form (a failed delete carries none and is retried by the next full sync instead).
 */
export async function freezeSelection(db: Queryable, selection: ReplaySelection): Promise<FrozenSelection> {
  const asOf = new Date().toISOString();
  const { where, params } = whereOf(selection, asOf, ['raw_data IS NOT NULL']);
  params.push(Math.trunc(selection.limit));
  const { rows } = await db.query<{ n: string; through: string | null }>(
    `SELECT count(*) AS n, max(uid::text) AS through
       FROM (SELECT uid FROM failed_records WHERE ${where} ORDER BY uid LIMIT $${params.length}) AS s`,
    params,
  );
  return { ...selection, throughUid: rows[0]?.through ?? null, asOf, selected: Number(rows[0]?.n ?? 0) };
}

/** One dead letter as a replay page row: its raw form, and when it failed. */
export interface ReplayRow {
  uid: string;
  raw: Record<string, unknown>;
  failedAt: Date;
}

/** The next page of a frozen selection after `cursor` (a uid), oldest first. */
export async function readReplayPage(
  db: Queryable,
  selection: FrozenSelection,
  cursor: string | null,
  pageSize: number,
): Promise<{ rows: ReplayRow[]; nextCursor: string | null; done: boolean }> {
  if (selection.throughUid === null) return { rows: [], nextCursor: null, done: true };
  const extra = ['raw_data IS NOT NULL'];
  const { where, params } = whereOf(selection, selection.asOf, extra);
  params.push(selection.throughUid);
  let sql = `${where} AND uid <= $${params.length}::uuid`;
  if (cursor) {
    params.push(cursor);
    sql += ` AND uid > $${params.length}::uuid`;
  }
  params.push(Math.trunc(pageSize));
  const { rows } = await db.query<{ uid: string; raw_data: Record<string, unknown>; created_at: Date | string }>(
    `SELECT uid::text AS uid, raw_data, created_at FROM failed_records WHERE ${sql} ORDER BY uid LIMIT $${params.length}`,
    params,
  );
  const last = rows.at(-1)?.uid ?? cursor;
  return {
    rows: rows.map((r) => ({ uid: r.uid, raw: r.raw_data, failedAt: new Date(r.created_at) })),
    nextCursor: last,
    done: rows.length < pageSize || last === selection.throughUid,
  };
}

/** The replay's selection, as frozen in its batch's metrics; null when the batch is not a replay. */
export async function replaySelectionOf(db: Queryable, batchUid: string): Promise<FrozenSelection | null> {
  const { rows } = await db.query<{ selection: FrozenSelection | null }>(
    `SELECT metrics->'replay'->'selection' AS selection FROM sync_batches WHERE uid = $1::uuid`,
    [batchUid],
  );
  return rows[0]?.selection ?? null;
}

/** One error of a replay attempt. */
export interface AttemptError {
  stage: string;
  target: string | null;
  errorType: string;
  message: string;
}

/** What one replay did with one dead letter. */
export type ReplayOutcome =
  | { uid: string; outcome: 'resolved'; resolution: 'landed' | 'unchanged' | 'superseded' }
  | { uid: string; outcome: 'failed'; errors: AttemptError[]; transient: boolean }
  | { uid: string; outcome: 'waiting'; parent: string };

export interface ReplayTally {
  resolved: number;
  failedAgain: number;
  abandoned: number;
  waiting: number;
}

/**
 * Records each outcome on its dead letter, in the caller's transaction (TRACK's): one more attempt in
 * `attempts` (when, which batch, the outcome and its errors); resolved ones get resolved_at, the batch and how;
 * failed ones back off (`retryBaseSeconds` · 2^(attempt−1), capped at an hour) when transient, wait for an
 * operator when not, and are abandoned once they failed max_retries replays. Answers the tally.
 */
export async function recordReplayOutcomes(
  db: Queryable,
  batchUid: string,
  outcomes: readonly ReplayOutcome[],
  retryBaseSeconds: number,
): Promise<ReplayTally> {
  const tally: ReplayTally = { resolved: 0, failedAgain: 0, abandoned: 0, waiting: 0 };
  if (outcomes.length === 0) return tally;
  const rows = outcomes.map((o) => ({
    uid: o.uid,
    outcome: o.outcome,
    resolution: o.outcome === 'resolved' ? o.resolution : null,
    transient: o.outcome === 'failed' ? o.transient : false,
    attempt: {
      batchUid,
      outcome: o.outcome === 'resolved' ? o.resolution : o.outcome,
      ...(o.outcome === 'failed' ? { errors: o.errors } : {}),
      ...(o.outcome === 'waiting' ? { parent: o.parent } : {}),
    },
  }));
  const { rows: after } = await db.query<{ outcome: string; abandoned: boolean }>(
    `UPDATE failed_records f
        SET retry_count = f.retry_count + 1,
            last_retry_at = now(),
            attempts = f.attempts || jsonb_build_array(t.attempt || jsonb_build_object('at', now())),
            resolved_at = CASE WHEN t.outcome = 'resolved' THEN now() END,
            resolved_batch_uid = CASE WHEN t.outcome = 'resolved' THEN $2::uuid END,
            resolution = t.resolution,
            next_retry_at = CASE
              WHEN t.outcome = 'failed' AND t.transient AND f.retry_count + 1 < f.max_retries
                THEN now() + make_interval(secs => LEAST($3::float8 * power(2, f.retry_count), 3600))
              WHEN t.outcome = 'waiting' THEN f.next_retry_at
              END,
            abandoned_at = CASE WHEN t.outcome = 'failed' AND f.retry_count + 1 >= f.max_retries THEN now() END,
            updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS t(uid uuid, outcome text, resolution text, transient boolean, attempt jsonb)
      WHERE f.uid = t.uid AND f.resolved_at IS NULL
      RETURNING t.outcome, f.abandoned_at IS NOT NULL AS abandoned`,
    [jsonb(rows), batchUid, retryBaseSeconds],
  );
  for (const row of after) {
    if (row.outcome === 'resolved') tally.resolved++;
    else if (row.outcome === 'waiting') tally.waiting++;
    else {
      tally.failedAgain++;
      if (row.abandoned) tally.abandoned++;
    }
  }
  return tally;
}

/** Adds a page's tally to the batch's metrics.replay counters. */
export async function addReplayTally(db: Queryable, batchUid: string, tally: ReplayTally): Promise<void> {
  await db.query(
    `UPDATE sync_batches
        SET metrics = jsonb_set(metrics, '{replay}', COALESCE(metrics->'replay', '{}'::jsonb) || jsonb_build_object(
              'resolved', COALESCE((metrics->'replay'->>'resolved')::bigint, 0) + $2,
              'failedAgain', COALESCE((metrics->'replay'->>'failedAgain')::bigint, 0) + $3,
              'abandoned', COALESCE((metrics->'replay'->>'abandoned')::bigint, 0) + $4,
              'waiting', COALESCE((metrics->'replay'->>'waiting')::bigint, 0) + $5))
      WHERE uid = $1::uuid`,
    [batchUid, tally.resolved, tally.failedAgain, tally.abandoned, tally.waiting],
  );
}

/**
 * A replay dry run's prediction for one page, added to the batch's metrics.replay.preview: how many would
 * resolve, wait or still fail (the failures themselves, with their reasons, are the batch's dry-run candidates).
 */
export async function addReplayPreview(db: Queryable, batchUid: string, outcomes: readonly ReplayOutcome[]) {
  const count = (o: ReplayOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
  await db.query(
    `UPDATE sync_batches
        SET metrics = jsonb_set(metrics, '{replay,preview}', jsonb_build_object(
              'wouldResolve', COALESCE((metrics->'replay'->'preview'->>'wouldResolve')::bigint, 0) + $2,
              'wouldWait', COALESCE((metrics->'replay'->'preview'->>'wouldWait')::bigint, 0) + $3,
              'wouldFail', COALESCE((metrics->'replay'->'preview'->>'wouldFail')::bigint, 0) + $4))
      WHERE uid = $1::uuid`,
    [batchUid, count('resolved'), count('waiting'), count('failed')],
  );
}

/**
 * Entities with dead letters whose automatic retry is due (the background retry pass), oldest due first: live,
 * enabled entities only (a dry-run entity writes nothing; a disabled or deleted one is not synced at all).
 */
export async function entitiesWithDueDeadLetters(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ entity_name: string }>(
    `SELECT f.entity_name FROM failed_records f JOIN entities e ON e.name = f.entity_name
      WHERE f.resolved_at IS NULL AND f.abandoned_at IS NULL AND f.raw_data IS NOT NULL AND f.next_retry_at <= now()
        AND e.enabled AND e.mode = 'live'
      GROUP BY f.entity_name ORDER BY min(f.next_retry_at)`,
  );
  return rows.map((r) => r.entity_name);
}
