import type { Command } from 'commander';
import type { ApiClient } from '../api-client.ts';
import { print, table } from '../output.ts';

interface FailedRecords {
  records: Array<{
    uid: string;
    entityName: string;
    refStr: string | null;
    stage: string;
    errorType: string;
    errorMessage: string;
    retryCount: number;
    createdAt: string;
  }>;
  pagination: { total: number };
}

/** `syncflow dlq …`: list the dead-letter queue, queue its records for another attempt. */
export function registerDlq(program: Command, api: () => ApiClient) {
  const dlq = program.command('dlq').description('The dead-letter queue (records that could not be synced)');

  dlq
    .command('list')
    .description('Unresolved failed records, newest first')
    .option('--entity <name>')
    .option('--stage <stage>', 'fetch | normalize | validate | map | identity | delta | resolve | ingest | track')
    .option('--error-type <type>')
    .option('--limit <n>', 'how many (at most 100)', '20')
    .action(async (opts: { entity?: string; stage?: string; errorType?: string; limit: string }) => {
      const query = new URLSearchParams({ pageSize: opts.limit });
      if (opts.entity) query.set('entity', opts.entity);
      if (opts.stage) query.set('stage', opts.stage);
      if (opts.errorType) query.set('errorType', opts.errorType);
      const page = await api().get<FailedRecords>(`/monitoring/failed-records?${query}`);
      print(
        table(
          ['ENTITY', 'RECORD', 'STAGE', 'ERROR', 'MESSAGE', 'RETRIES', 'SINCE'],
          page.records.map((r) => [
            r.entityName,
            r.refStr,
            r.stage,
            r.errorType,
            r.errorMessage.length > 60 ? `${r.errorMessage.slice(0, 57)}...` : r.errorMessage,
            r.retryCount,
            r.createdAt,
          ]),
        ),
      );
      print(`${page.records.length} of ${page.pagination.total} unresolved`);
    });

  dlq
    .command('replay')
    .description("Queue unresolved records for another attempt (one entity, or every entity's)")
    .option('--entity <name>')
    .option('--stage <stage>')
    .option('--error-type <type>')
    .action(async (opts: { entity?: string; stage?: string; errorType?: string }) => {
      const names = opts.entity
        ? [opts.entity]
        : (await api().get<{ entities: Array<{ name: string }> }>('/entities')).entities.map((e) => e.name);
      for (const entity of names) {
        const result = await api().post<{ requeued: number }>('/sync/retry-failed', {
          entity,
          ...(opts.stage ? { stage: opts.stage } : {}),
          ...(opts.errorType ? { errorType: opts.errorType } : {}),
        });
        print(`${entity}: ${result.requeued} record(s) queued for replay`);
      }
    });
}
