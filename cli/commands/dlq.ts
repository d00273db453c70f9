import type { Command } from 'commander';
import { type ApiClient, CliError } from '../api-client.ts';
import { follow } from '../follow.ts';
import { print, table } from '../output.ts';

interface FailedRecordRow {
  uid: string;
  entityName: string;
  refStr: string | null;
  sourceKey: string | null;
  stage: string;
  errorType: string;
  errorMessage: string;
  retryCount: number;
  createdAt: string;
}

/** GET /monitoring/failed-records/:uid */
interface FailedRecordDetail extends FailedRecordRow {
  batchUid: string;
  bkHash: string | null;
  targetName: string | null;
  errors: Array<{ field: string | null; layer: string; code: string; message: string; value: unknown }>;
  rawData: unknown;
  normalizedData: unknown;
  mappedData: unknown;
  maxRetries: number;
  nextRetryAt: string | null;
  lastRetryAt: string | null;
  resolvedAt: string | null;
  batch: { batchUid: string; status: string; syncType: string; dryRun: boolean } | null;
}

/** The API's page size limit: longer lists follow its cursor. */
const API_PAGE = 100;

/** A paged list of the API (`key` holds its rows): `limit` rows from `cursor` on, or every row with `all`. */
async function fetchPages<T>(
  api: ApiClient,
  path: string,
  base: URLSearchParams,
  key: string,
  opts: { all: boolean; limit: number; cursor: string | null },
): Promise<{ rows: T[]; total: number; cursor: string | null }> {
  const rows: T[] = [];
  let cursor = opts.cursor;
  let total = 0;
  for (;;) {
    const want = opts.all ? API_PAGE : Math.min(API_PAGE, opts.limit - rows.length);
    const query = new URLSearchParams(base);
    query.set('pageSize', String(want));
    if (cursor) query.set('cursor', cursor);
    const page = await api.get<Record<string, T[]> & { pagination: { total: number; nextCursor: string | null } }>(
      `${path}?${query}`,
    );
    rows.push(...(page[key] ?? []));
    total = page.pagination.total;
    cursor = page.pagination.nextCursor;
    if (!cursor || (!opts.all && rows.length >= opts.limit)) break;
  }
  return { rows, total, cursor };
}

const indent = (text: string, by = '  ') =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

function showText(r: FailedRecordDetail): string {
  const form = (label: string, value: unknown) =>
    value === null || value === undefined ? [`${label}: -`] : [`${label}:`, indent(JSON.stringify(value, null, 2))];
  const lines = [
    `Failed record ${r.uid}`,
    `  entity:     ${r.entityName}`,
    `  key:        ${r.sourceKey ?? '-'}`,
    `  reference:  ${r.refStr ?? '-'}`,
    `  bk_hash:    ${r.bkHash ?? '-'}`,
    `  stage:      ${r.stage}${r.targetName ? ` (target ${r.targetName})` : ''}`,
    `  error:      ${r.errorType}: ${r.errorMessage}`,
    `  batch:      ${r.batchUid}${r.batch ? ` (${r.batch.syncType}${r.batch.dryRun ? ' dry run' : ''}, ${r.batch.status})` : ''}`,
    `  attempts:   ${r.retryCount} of ${r.maxRetries} retries` +
      `${r.lastRetryAt ? `, last ${r.lastRetryAt}` : ''}${r.nextRetryAt ? `, next due ${r.nextRetryAt}` : ''}`,
    `  status:     ${r.resolvedAt ? `resolved ${r.resolvedAt}` : 'unresolved'}`,
    `  since:      ${r.createdAt}`,
    `Errors (${r.errors.length}):`,
    ...r.errors.map(
      (e) =>
        `  - ${e.field ?? '(record)'} [${e.layer}] ${e.code}: ${e.message}` +
        (e.value === null || e.value === undefined ? '' : ` (value ${JSON.stringify(e.value)})`),
    ),
    ...form('Raw', r.rawData),
    ...form('Normalized', r.normalizedData),
    ...form('Mapped', r.mappedData),
  ];
  if (r.rawData === null && r.normalizedData === null && r.mappedData === null) {
    lines.push('(record data needs an operator or admin key)');
  }
  return lines.join('\n');
}

/** `syncflow dlq …`: list the dead-letter queue, show one record, queue records for another attempt. */
export function registerDlq(program: Command, api: () => ApiClient) {
  const dlq = program.command('dlq').description('The dead-letter queue (records that could not be synced)');

  dlq
    .command('list')
    .description('Unresolved failed records, newest first')
    .option('--entity <name>')
    .option('--stage <stage>', 'fetch | normalize | validate | map | identity | delta | resolve | ingest | track')
    .option('--error-type <type>')
    .option('--key <key>', 'exactly this source key (field=value|field=value)')
    .option('--limit <n>', 'how many (pages through the API 100 at a time)', '20')
    .option('--all', 'every record (follows the pages to the end)')
    .option('--cursor <cursor>', 'start after the last record of an earlier list (its "next" cursor)')
    .action(
      async (opts: {
        entity?: string;
        stage?: string;
        errorType?: string;
        key?: string;
        limit: string;
        all?: boolean;
        cursor?: string;
      }) => {
        const limit = Number(opts.limit);
        if (!opts.all && (!Number.isInteger(limit) || limit < 1)) {
          throw new CliError(`--limit must be a positive whole number, not "${opts.limit}".`);
        }
        const base = new URLSearchParams();
        if (opts.entity) base.set('entity', opts.entity);
        if (opts.stage) base.set('stage', opts.stage);
        if (opts.errorType) base.set('errorType', opts.errorType);
        if (opts.key) base.set('key', opts.key);
        const {
          rows: records,
          total,
          cursor,
        } = await fetchPages<FailedRecordRow>(api(), '/monitoring/failed-records', base, 'records', {
          all: Boolean(opts.all),
          limit,
          cursor: opts.cursor ?? null,
        });
        print(
          table(
            ['ENTITY', 'RECORD', 'STAGE', 'ERROR', 'MESSAGE', 'RETRIES', 'SINCE', 'UID'],
            records.map((r) => [
              r.entityName,
              r.refStr ?? r.sourceKey,
              r.stage,
              r.errorType,
              short(r.errorMessage),
              r.retryCount,
              r.createdAt,
              r.uid,
            ]),
          ),
        );
        print(`${records.length} of ${total} unresolved`);
        if (cursor) print(`More: --all, or --cursor ${cursor}`);
      },
    );

  dlq
    .command('show')
    .description('One failed record: its key, reference, errors (field and layer), attempts and record data')
    .argument('<uid>', "the record's uid (see dlq list)")
    .option('--json', 'print the API answer as JSON')
    .action(async (uid: string, opts: { json?: boolean }) => {
      const record = await api().get<FailedRecordDetail>(`/monitoring/failed-records/${encodeURIComponent(uid)}`);
      print(opts.json ? JSON.stringify(record, null, 2) : showText(record));
    });

  dlq
    .command('candidates')
    .description("A dry run's plan: every record it would have dead-lettered, with the reason (a sync's or a replay's)")
    .argument('<batchUid>', "the dry run's batch")
    .option('--limit <n>', 'how many to show', '50')
    .option('--all', 'every one (pages through the API)')
    .option('--cursor <cursor>', 'continue after a previous listing')
    .action(async (batchUid: string, opts: { limit: string; all?: boolean; cursor?: string }) => {
      const limit = Number(opts.limit);
      if (!opts.all && (!Number.isInteger(limit) || limit < 1)) {
        throw new CliError(`--limit must be a positive whole number, not "${opts.limit}".`);
      }
      const { rows, total, cursor } = await fetchPages<Candidate>(
        api(),
        `/sync/status/${encodeURIComponent(batchUid)}/candidates`,
        new URLSearchParams(),
        'candidates',
        { all: Boolean(opts.all), limit, cursor: opts.cursor ?? null },
      );
      print(candidatesTable(rows));
      print(`${rows.length} of ${total} candidates`);
      if (cursor) print(`More: --all, or --cursor ${cursor}`);
    });

  dlq
    .command('replay')
    .description(
      "Replay an entity's dead letters through its current configuration (fix the mapping first); each one " +
        'that lands is resolved, one that fails again keeps its history',
    )
    .argument('<entity>')
    .option('--stage <stage>', 'only records that failed at this stage')
    .option('--error-type <type>', 'only records with this error type')
    .option('--batch <uid>', 'only records of this batch')
    .option('--target <name>', 'only records one target refused')
    .option('--uid <uid...>', 'exactly these records (abandoned ones included)')
    .option('--all', 'every unresolved record of the entity (needed when no other filter is given)')
    .option('--limit <n>', 'at most this many, oldest first')
    .option('--dry-run', 'report what would land and what would still fail, writing nothing')
    .option('--follow', 'show progress until the replay ends, then what became of the records')
    .option('--interval <ms>', 'how often --follow polls', '1000')
    .action(async (entity: string, opts: ReplayOptions) => {
      const started = await api().post<{ batchUid: string; workflowId: string; syncWorkflowId: string }>(
        '/sync/retry-failed',
        {
          entity,
          ...(opts.stage ? { stage: opts.stage } : {}),
          ...(opts.errorType ? { errorType: opts.errorType } : {}),
          ...(opts.batch ? { batchUid: opts.batch } : {}),
          ...(opts.target ? { target: opts.target } : {}),
          ...(opts.uid ? { uids: opts.uid } : {}),
          ...(opts.all ? { all: true } : {}),
          ...(opts.limit ? { limit: Number(opts.limit) } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
        },
      );
      print(
        `Started ${opts.dryRun ? 'a dry-run ' : ''}replay of ${entity}'s dead letters: batch ${started.batchUid} ` +
          `(workflow ${started.workflowId})`,
      );
      if (!opts.follow) return;
      const end = await follow(api(), started.batchUid, {
        intervalMs: Number(opts.interval),
        tty: Boolean(process.stdout.isTTY),
      });
      print(replayText(end.metrics));
      if (opts.dryRun) {
        const plan = await fetchPages<Candidate>(
          api(),
          `/sync/status/${started.batchUid}/candidates`,
          new URLSearchParams(),
          'candidates',
          { all: false, limit: 20, cursor: null },
        );
        if (plan.rows.length > 0) print(candidatesTable(plan.rows));
        if (plan.cursor) print(`All of them: syncflow dlq candidates ${started.batchUid} --all`);
      }
      if (end.status !== 'completed') process.exitCode = 1;
    });
}

interface ReplayOptions {
  stage?: string;
  errorType?: string;
  batch?: string;
  target?: string;
  uid?: string[];
  all?: boolean;
  limit?: string;
  dryRun?: boolean;
  follow?: boolean;
  interval: string;
}

/** A dry run's candidate (GET /sync/status/:batchUid/candidates). */
interface Candidate {
  stage: string;
  targetName: string | null;
  errorType: string;
  errorMessage: string;
  sourceKey: string | null;
  refStr: string | null;
  deadLetterUid: string | null;
}

const short = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}...` : text);

function candidatesTable(rows: readonly Candidate[]): string {
  return table(
    ['RECORD', 'STAGE', 'TARGET', 'ERROR', 'MESSAGE', 'DEAD LETTER'],
    rows.map((c) => [
      c.refStr ?? c.sourceKey,
      c.stage,
      c.targetName,
      c.errorType,
      short(c.errorMessage),
      c.deadLetterUid,
    ]),
  );
}

/** What a replay did with its dead letters (its batch's metrics.replay), or would do (a dry run's preview). */
export function replayText(metrics: unknown): string {
  const replay = (metrics as { replay?: Record<string, unknown> } | null)?.replay ?? {};
  const n = (value: unknown) => Number(value ?? 0);
  const selected = n((replay.selection as { selected?: number } | undefined)?.selected ?? replay.selected);
  const preview = replay.preview as { wouldResolve?: number; wouldWait?: number; wouldFail?: number } | undefined;
  if (preview) {
    return `  ${selected} selected: ${n(preview.wouldResolve)} would land, ${n(preview.wouldWait)} would wait for a parent, ${n(preview.wouldFail)} would still fail`;
  }
  return `  ${selected} selected: ${n(replay.resolved)} resolved, ${n(replay.failedAgain)} failed again (${n(replay.abandoned)} abandoned), ${n(replay.waiting)} waiting for a parent`;
}
