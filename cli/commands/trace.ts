import type { Command } from 'commander';
import type { ApiClient } from '../api-client.ts';
import { print, table } from '../output.ts';

/** GET /entities/:name/records/:key (api/schemas/trace.ts), as far as the text output reads it. */
interface RecordTrace {
  entity: string;
  mode: string;
  recordData: boolean;
  key: { input: string; form: string; bkHash: string | null; sourceKey: string | null; reference: string | null };
  source: {
    type: string;
    readable: boolean;
    reason: string | null;
    keyFrom: string | null;
    rowsFound: number | null;
    row: unknown;
  };
  pipeline: {
    failedAt: string | null;
    layers: string[];
    fields: Record<string, Record<string, unknown>> | null;
    normalized: unknown;
    errors: Array<{ field: string; layer: string; code: string; message: string }>;
    mapped: unknown;
    identity: { bkHash: string; dataHash: string; rowversion: string | null; reference: string } | null;
    bkHash: string | null;
  } | null;
  targets: Array<{
    name: string;
    role: string;
    decision: { operation: string; reason: string } | null;
    sourceUnchanged: boolean | null;
    stored: {
      dataHash: string;
      rowversion: string | null;
      targetUid: string | null;
      syncStatus: string;
      syncError: string | null;
      attempts: number;
      lastBatchUid: string | null;
      syncedAt: string | null;
      deletedAt: string | null;
    } | null;
  }>;
  deadLetters: {
    records: Array<{
      uid: string;
      stage: string;
      targetName: string | null;
      errorType: string;
      errorMessage: string;
      retryCount: number;
      resolvedAt: string | null;
      resolution: string | null;
      abandonedAt: string | null;
      createdAt: string;
    }>;
    limit: number;
    more: boolean;
  };
  waiting: Array<{
    parentEntity: string;
    parentRefStr: string | null;
    status: string;
    retryCount: number;
    maxRetries: number;
    nextRetryAt: string | null;
    lastError: string | null;
  }>;
}

const short = (text: string, max = 60) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
const shown = (value: unknown) => (value === undefined ? '' : short(JSON.stringify(value) ?? 'null', 30));
const json = (value: unknown) =>
  JSON.stringify(value, null, 2)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

function traceText(t: RecordTrace): string {
  const lines = [
    `Record ${t.key.reference ?? t.key.sourceKey ?? t.key.bkHash ?? t.key.input}`,
    `  entity:     ${t.entity} (${t.mode === 'dry_run' ? 'dry run' : 'live'})`,
    `  key:        ${t.key.sourceKey ?? '-'}`,
    `  bk_hash:    ${t.key.bkHash ?? '- (its key fields do not normalize)'}`,
  ];
  const s = t.source;
  lines.push(
    `Source (${s.type}): ${
      s.reason ?? `row found${s.rowsFound && s.rowsFound > 1 ? ' (the key is not unique in the source)' : ''}`
    }`,
  );
  if (s.row !== null && s.row !== undefined) lines.push(json(s.row));
  const p = t.pipeline;
  if (p) {
    lines.push(`Pipeline: ${p.failedAt ? `failed at ${p.failedAt}` : 'passed'}`);
    if (p.fields) {
      const layers = p.layers;
      lines.push(
        table(
          ['  FIELD', 'SOURCE', ...layers.map((l) => l.toUpperCase()), 'ERROR'],
          Object.entries(p.fields).map(([field, stages]) => {
            const error = stages.error as { code?: string } | undefined;
            return [`  ${field}`, shown(stages.source), ...layers.map((l) => shown(stages[l])), error?.code ?? ''];
          }),
        ),
      );
    }
    for (const e of p.errors) lines.push(`  - ${e.field} [${e.layer}] ${e.code}: ${e.message}`);
    if (p.mapped !== null && p.mapped !== undefined) lines.push('  Mapped:', json(p.mapped));
    if (p.identity) {
      lines.push(
        `  identity:   bk_hash ${p.identity.bkHash}, data_hash ${p.identity.dataHash.slice(0, 16)}…, ` +
          `rowversion ${p.identity.rowversion ?? '-'}`,
      );
    }
  }
  if (!t.recordData) lines.push('(record data needs an operator or admin key)');
  lines.push(
    'Targets:',
    table(
      [
        '  TARGET',
        'ROLE',
        'DECISION NOW',
        'STATUS',
        'ROWVERSION',
        'ATTEMPTS',
        'LAST BATCH',
        'SYNCED',
        'DELETED',
        'ERROR',
      ],
      t.targets.map((target) => [
        `  ${target.name}`,
        target.role,
        target.decision
          ? `${target.decision.operation} (${target.decision.reason})${target.sourceUnchanged ? ', source unchanged' : ''}`
          : '-',
        target.stored?.syncStatus ?? 'no record',
        target.stored?.rowversion,
        target.stored?.attempts,
        target.stored?.lastBatchUid,
        target.stored?.syncedAt,
        target.stored?.deletedAt,
        target.stored?.syncError ? short(target.stored.syncError, 40) : null,
      ]),
    ),
  );
  const letters = t.deadLetters.records;
  lines.push(`Dead letters (${letters.length}${t.deadLetters.more ? `, newest ${t.deadLetters.limit} shown` : ''}):`);
  if (letters.length > 0) {
    lines.push(
      table(
        ['  UID', 'STAGE', 'ERROR', 'MESSAGE', 'RETRIES', 'STATUS', 'SINCE'],
        letters.map((l) => [
          `  ${l.uid}`,
          l.targetName ? `${l.stage} (${l.targetName})` : l.stage,
          l.errorType,
          short(l.errorMessage, 50),
          l.retryCount,
          l.resolvedAt ? `resolved (${l.resolution ?? '-'})` : l.abandonedAt ? 'abandoned' : 'unresolved',
          l.createdAt,
        ]),
      ),
    );
  }
  lines.push(`Waiting for a parent (${t.waiting.length}):`);
  if (t.waiting.length > 0) {
    lines.push(
      table(
        ['  PARENT', 'STATUS', 'RETRIES', 'NEXT', 'LAST ERROR'],
        t.waiting.map((w) => [
          `  ${w.parentRefStr ?? w.parentEntity}`,
          w.status,
          `${w.retryCount} of ${w.maxRetries}`,
          w.nextRetryAt,
          w.lastError ? short(w.lastError, 50) : null,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** `syncflow trace <entity> <key>`: the trace of one record (GET /entities/:name/records/:key). */
export function registerTrace(program: Command, api: () => ApiClient) {
  program
    .command('trace')
    .description(
      'Trace one record: its source row now, each normalization layer, identity, the decision per target, ' +
        'what each target holds, its dead letters and waiting rows',
    )
    .argument('<entity>', 'the entity')
    .argument(
      '<key>',
      'a bk_hash (32 hex characters) or the business key as read from the source: field=value|field=value',
    )
    .option('--json', 'print the API answer as JSON')
    .action(async (entity: string, key: string, opts: { json?: boolean }) => {
      const trace = await api().get<RecordTrace>(
        `/entities/${encodeURIComponent(entity)}/records/${encodeURIComponent(key)}`,
      );
      print(opts.json ? JSON.stringify(trace, null, 2) : traceText(trace));
    });
}
