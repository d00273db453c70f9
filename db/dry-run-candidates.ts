import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { jsonb } from './jsonb.ts';
import { type PageRequest, pageQuery, toPage } from './pagination.ts';
import type { Prisma } from './prisma.ts';

/** One record a dry run would have dead-lettered (TRACK of a dry-run page writes them; nothing else is written). */
export interface DryRunCandidateInput {
  batchUid: string;
  entityName: string;
  page: number;
  stage: string;
  targetName: string | null;
  errorType: string;
  errorMessage: string;
  errorDetails: unknown;
  sourceKey: string | null;
  refStr: string | null;
  /** A replay's dry run: the dead letter it re-ran. */
  deadLetterUid: string | null;
}

/** Writes a page's candidates in one statement, in the caller's transaction (TRACK's: once per page). */
export async function insertDryRunCandidates(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  rows: readonly DryRunCandidateInput[],
): Promise<void> {
  if (rows.length === 0) return;
  const records = rows.map((r) => ({
    uid: uuidv7(),
    batch_uid: r.batchUid,
    entity_name: r.entityName,
    page: r.page,
    stage: r.stage,
    target_name: r.targetName,
    error_type: r.errorType,
    error_message: r.errorMessage,
    error_details: r.errorDetails ?? null,
    source_key: r.sourceKey,
    ref_str: r.refStr,
    dead_letter_uid: r.deadLetterUid,
  }));
  await db.query(
    `INSERT INTO dry_run_candidates
       (uid, batch_uid, entity_name, page, stage, target_name, error_type, error_message, error_details, source_key,
        ref_str, dead_letter_uid)
     SELECT uid, batch_uid, entity_name, page, stage, target_name, error_type, error_message, error_details,
            source_key, ref_str, dead_letter_uid
       FROM jsonb_to_recordset($1::jsonb) AS t(
         uid uuid, batch_uid uuid, entity_name varchar, page int, stage varchar, target_name varchar,
         error_type varchar, error_message text, error_details jsonb, source_key text, ref_str text,
         dead_letter_uid uuid)`,
    [jsonb(records)],
  );
}

/** A page of a dry run's candidates (newest first; page or cursor). */
export async function listDryRunCandidates(prisma: Prisma, batchUid: string, request: PageRequest) {
  const where = { batchUid };
  const [rows, total] = await Promise.all([
    prisma.dryRunCandidate.findMany(pageQuery(request, where)),
    prisma.dryRunCandidate.count({ where }),
  ]);
  return toPage(rows, total, request.pageSize);
}
