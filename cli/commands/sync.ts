import type { Command } from 'commander';
import { type ApiClient, CliError } from '../api-client.ts';
import { follow, type SyncStatusView, summary } from '../follow.ts';
import { count, print, table } from '../output.ts';

interface Started {
  batches: Array<{ batchUid: string; workflowId: string; entityName: string; dryRun: boolean; syncType: string }>;
}
interface History {
  batches: Array<{
    batchUid: string;
    entityName: string;
    syncType: string;
    status: string;
    dryRun: boolean;
    createdAt: string;
    durationMs: number | null;
    counts: { fetched: number; inserted: number; updated: number; skipped: number; failed: number };
  }>;
  pagination: { total: number; nextCursor: string | null };
}

interface ControlAnswer {
  batchUid: string;
  action: string;
  status: string;
  /** Pause and resume only: the workflow's progress after the change. */
  progress?: {
    phase: string;
    paused: boolean;
    pagesCompleted: number;
    pagesInFlight: number;
    counts: { fetched: number };
  };
}

/** `syncflow sync …`: start (optionally following to the end), status, stop, pause, resume, history. */
export function registerSync(program: Command, api: () => ApiClient) {
  const sync = program.command('sync').description('Start, watch and stop syncs');

  sync
    .command('start')
    .description('Start a sync of one or more entities (related ones run parents first)')
    .argument('<entity...>', 'entity names')
    .option('--full', 'a full sync (default: incremental)')
    .option('--execute', 'write to the targets, even for a dry-run entity')
    .option('--dry-run', 'write nothing, even for a live entity')
    .option('--follow', 'show progress until the sync ends, then its counts')
    .option('--interval <ms>', 'how often --follow polls', '1000')
    .option('--max-items <n>', 'a bounded trial run: read at most n source rows, then complete (no deletes)')
    .action(
      async (
        entities: string[],
        opts: {
          full?: boolean;
          execute?: boolean;
          dryRun?: boolean;
          follow?: boolean;
          interval: string;
          maxItems?: string;
        },
      ) => {
        if (opts.execute && opts.dryRun) throw new CliError('Give either --execute or --dry-run, not both.');
        const execute = opts.execute ? true : opts.dryRun ? false : undefined;
        const maxItems = opts.maxItems === undefined ? undefined : Number(opts.maxItems);
        if (maxItems !== undefined && (!Number.isInteger(maxItems) || maxItems < 1)) {
          throw new CliError(`--max-items must be a positive whole number, not "${opts.maxItems}".`);
        }
        const started = await api().post<Started>('/sync/start', {
          entities,
          syncType: opts.full ? 'full' : 'incremental',
          ...(execute === undefined ? {} : { execute }),
          ...(maxItems === undefined ? {} : { maxItems }),
        });
        for (const b of started.batches) {
          print(
            `Started ${b.syncType} ${b.dryRun ? 'dry run' : 'sync'} of ${b.entityName}: batch ${b.batchUid} (workflow ${b.workflowId})`,
          );
        }
        if (!opts.follow) return;
        let failed = false;
        for (const b of started.batches) {
          const end = await follow(api(), b.batchUid, {
            intervalMs: Number(opts.interval),
            tty: Boolean(process.stdout.isTTY),
          });
          if (end.status !== 'completed') failed = true;
        }
        if (failed) process.exitCode = 1;
      },
    );

  sync
    .command('status')
    .description("A batch's status and counts")
    .argument('<batchUid>')
    .action(async (batchUid: string) => {
      const status = await api().get<SyncStatusView>(`/sync/status/${batchUid}`);
      print(summary(status));
      if (status.progress) print(`  live: ${status.progress.phase}, ${count(status.progress.rowsPerSecond)} rows/s`);
      for (const r of status.retrying ?? []) {
        const next = r.nextAttemptAt ? `, next attempt at ${r.nextAttemptAt}` : '';
        print(`  retrying ${r.activity} (attempt ${r.attempt}${next}): ${r.lastFailure}`);
      }
    });

  for (const [action, what] of [
    ['stop', 'Stop a running sync; answers once it is closed cancelled, its counts kept'],
    ['pause', 'Pause a running sync'],
    ['resume', 'Resume a paused sync'],
  ] as const) {
    sync
      .command(action)
      .description(what)
      .argument('<batchUid>')
      .action(async (batchUid: string) => {
        const answer = await api().post<ControlAnswer>(`/sync/${action}/${batchUid}`);
        if (!answer.progress) {
          // Only a stop answers without progress: no worker took it in time, so a cancellation was requested.
          print(`No worker answered: batch ${batchUid} stops as soon as a worker runs it (cancellation requested).`);
          return;
        }
        // Each answers once the change took effect, with the workflow's progress at that moment.
        const p = answer.progress;
        print(
          `Batch ${batchUid} is ${answer.status}${p.paused ? ' (paused)' : ''}: ${p.phase}, ` +
            `${count(p.pagesCompleted)} pages, ${count(p.counts.fetched)} rows fetched, ${p.pagesInFlight} pages in flight.`,
        );
      });
  }

  sync
    .command('history')
    .description('Recent batches, newest first')
    .option('--entity <name>')
    .option('--status <status>', 'pending | running | paused | completed | failed | cancelled')
    .option('--type <syncType>', 'full | incremental | background')
    .option('--limit <n>', 'how many (at most 100)', '20')
    .action(async (opts: { entity?: string; status?: string; type?: string; limit: string }) => {
      const query = new URLSearchParams({ pageSize: opts.limit });
      if (opts.entity) query.set('entity', opts.entity);
      if (opts.status) query.set('status', opts.status);
      if (opts.type) query.set('syncType', opts.type);
      const history = await api().get<History>(`/sync/history?${query}`);
      print(
        table(
          [
            'BATCH',
            'ENTITY',
            'TYPE',
            'STATUS',
            'DRY RUN',
            'CREATED',
            'FETCHED',
            'INSERTED',
            'UPDATED',
            'SKIPPED',
            'FAILED',
          ],
          history.batches.map((b) => [
            b.batchUid,
            b.entityName,
            b.syncType,
            b.status,
            b.dryRun,
            b.createdAt,
            b.counts.fetched,
            b.counts.inserted,
            b.counts.updated,
            b.counts.skipped,
            b.counts.failed,
          ]),
        ),
      );
      print(`${history.batches.length} of ${history.pagination.total}`);
    });
}
