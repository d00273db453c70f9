import type { Command } from 'commander';
import { type ApiClient, CliError } from '../api-client.ts';
import { print, table } from '../output.ts';

interface ScheduleView {
  kind: string;
  scheduleId: string;
  spec: { every: string | null; cron: string | null };
  timeZone: string | null;
  catchupWindow: string;
  paused: boolean;
  note: string | null;
  nextRunTimes: string[];
  recentRuns: Array<{ takenAt: string; workflowId: string; status: string; result: unknown }>;
}

const specText = (s: ScheduleView) =>
  s.spec.every ? `every ${s.spec.every}` : s.spec.cron ? `cron ${s.spec.cron}` : '-';

/** What a run answered, in a few words: the batch's status, or why it was skipped. */
function runText(result: unknown): string {
  if (!result || typeof result !== 'object') return '';
  const r = result as { skipped?: boolean; reason?: string; status?: string; batchUid?: string };
  if (r.skipped) return `skipped: ${r.reason ?? ''}`;
  return r.status ? `batch ${r.batchUid ?? ''} ${r.status}` : '';
}

const kindOption = (kind: string) => {
  if (kind !== 'incremental' && kind !== 'full')
    throw new CliError(`--kind must be incremental or full, not "${kind}".`);
  return kind;
};

/** `syncflow schedule …`: an entity's recurring syncs on Temporal Schedules. */
export function registerSchedule(program: Command, api: () => ApiClient) {
  const schedule = program
    .command('schedule')
    .description('Recurring syncs of an entity (Temporal Schedules, one per kind: incremental, full)');

  schedule
    .command('set')
    .description('Create or replace the recurring sync of one kind')
    .argument('<entity>')
    .option('--kind <kind>', 'incremental | full', 'incremental')
    .option('--every <duration>', 'an interval: 5m, 1h, 1d (at least 1m, at most 31d)')
    .option('--cron <expression>', 'a 5-field cron expression, e.g. "0 2 * * 0" (Sundays 02:00)')
    .option('--zone <zone>', "the cron's IANA time zone, e.g. Europe/Berlin (default UTC)")
    .option('--catchup <duration>', 'how late a run missed while Temporal was down may still start', '10m')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .action(
      async (
        entity: string,
        opts: {
          kind: string;
          every?: string;
          cron?: string;
          zone?: string;
          catchup: string;
          paused?: boolean;
          note?: string;
        },
      ) => {
        if (!opts.every && !opts.cron) throw new CliError('Give --every <duration> or --cron <expression>.');
        if (opts.every && opts.cron) throw new CliError('Give either --every or --cron, not both.');
        const answer = await api().put<{ created: boolean; schedule: ScheduleView }>(
          `/entities/${encodeURIComponent(entity)}/schedules`,
          {
            kind: kindOption(opts.kind),
            ...(opts.every ? { every: opts.every } : {}),
            ...(opts.cron ? { cron: opts.cron } : {}),
            ...(opts.zone ? { timeZone: opts.zone } : {}),
            catchupWindow: opts.catchup,
            ...(opts.paused ? { paused: true } : {}),
            ...(opts.note ? { note: opts.note } : {}),
          },
        );
        const s = answer.schedule;
        print(
          `${answer.created ? 'Created' : 'Updated'} ${s.kind} schedule of ${entity} (${s.scheduleId}): ${specText(s)}` +
            `${s.timeZone ? ` in ${s.timeZone}` : ''}, catch-up ${s.catchupWindow}${s.paused ? ', paused' : ''}.`,
        );
        if (s.nextRunTimes[0]) print(`Next run: ${s.nextRunTimes[0]}`);
      },
    );

  schedule
    .command('list')
    .description("An entity's recurring syncs and their next runs")
    .argument('<entity>')
    .action(async (entity: string) => {
      const { schedules } = await api().get<{ schedules: ScheduleView[] }>(
        `/entities/${encodeURIComponent(entity)}/schedules`,
      );
      if (schedules.length === 0) {
        print(`${entity} has no schedules.`);
        return;
      }
      print(
        table(
          ['KIND', 'SPEC', 'ZONE', 'PAUSED', 'NEXT RUN', 'LAST RUN'],
          schedules.map((s) => {
            const last = s.recentRuns[0];
            return [
              s.kind,
              specText(s),
              s.timeZone ?? 'UTC',
              s.paused,
              s.paused ? null : s.nextRunTimes[0],
              last ? `${last.takenAt} ${last.status} ${runText(last.result)}`.trim() : null,
            ];
          }),
        ),
      );
    });

  for (const [action, what] of [
    ['pause', 'Pause a recurring sync (no run starts until resumed)'],
    ['resume', 'Resume a paused recurring sync'],
  ] as const) {
    schedule
      .command(action)
      .description(what)
      .argument('<entity>')
      .argument('<kind>', 'incremental | full')
      .action(async (entity: string, kind: string) => {
        const s = await api().post<ScheduleView>(
          `/entities/${encodeURIComponent(entity)}/schedules/${encodeURIComponent(kind)}/${action}`,
        );
        print(
          `${s.kind} schedule of ${entity} is ${s.paused ? 'paused' : 'running'}` +
            `${!s.paused && s.nextRunTimes[0] ? `; next run ${s.nextRunTimes[0]}` : ''}.`,
        );
      });
  }

  schedule
    .command('trigger')
    .description('Run a recurring sync now (skipped if it, or another sync of the entity, is already running)')
    .argument('<entity>')
    .argument('<kind>', 'incremental | full')
    .action(async (entity: string, kind: string) => {
      const answer = await api().post<{ scheduleId: string; message: string }>(
        `/entities/${encodeURIComponent(entity)}/schedules/${encodeURIComponent(kind)}/trigger`,
      );
      print(`Triggered ${answer.scheduleId}. ${answer.message}`);
    });

  schedule
    .command('delete')
    .description("Delete an entity's recurring syncs (all kinds, or --kind)")
    .argument('<entity>')
    .option('--kind <kind>', 'incremental | full')
    .action(async (entity: string, opts: { kind?: string }) => {
      const query = opts.kind ? `?kind=${encodeURIComponent(kindOption(opts.kind))}` : '';
      const answer = await api().delete<{ deleted: string[] }>(
        `/entities/${encodeURIComponent(entity)}/schedules${query}`,
      );
      print(
        answer.deleted.length === 0
          ? `${entity} had no schedules.`
          : `Deleted the ${answer.deleted.join(' and ')} schedule${answer.deleted.length > 1 ? 's' : ''} of ${entity}.`,
      );
    });
}
