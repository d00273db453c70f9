import type { Command, CommanderError } from 'commander';
import type { ReconcileKey, ReconcileReportView } from '../../pipeline/reconcile/types.ts';
import { type ApiClient, CliError } from '../api-client.ts';
import { bar } from '../follow.ts';
import { type Cell, count, duration, print, table } from '../output.ts';

/** The API's answers (api/routes/reconcile.ts) are pipeline/reconcile/types.ts's report view, as JSON. */
const KINDS = ['missing', 'extra', 'different', 'orphans'] as const;

interface Started {
  reportUid: string;
  workflowId: string;
  entityName: string;
}

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Exit codes of `syncflow reconcile` (as diff(1) and cmp(1)): 0 the targets match the source, 1 differences
 * remain (or could not all be verified), 2 trouble: the API refused or could not be reached, or the reconcile
 * failed or was cancelled. (Other commands exit 1 on any error: there, nothing else has to be told apart.)
 */
export const RECONCILE_EXIT = { clean: 0, differences: 1, error: 2 } as const;

/** The exit code a report stands for (a running report: 0, nothing is known yet). */
export function exitCodeOf(report: ReconcileReportView): number {
  if (report.status === 'failed' || report.status === 'cancelled') return RECONCILE_EXIT.error;
  if (report.status !== 'completed') return RECONCILE_EXIT.clean;
  return report.clean === true || repairedAll(report) ? RECONCILE_EXIT.clean : RECONCILE_EXIT.differences;
}

type TargetReport = ReconcileReportView['targets'][number];

/**
 * Whether a repair left nothing behind on a target that was not clean: its repair re-sent or deleted every
 * difference and each checked again matches, with nothing only reported (extra records the delete policy keeps),
 * no orphans (a repair does not create parents), no more identity-store disagreements than repaired records, and
 * every segment verified. The report's own `clean` says what the reconcile found before repairing.
 */
const repairedTarget = (t: TargetReport) =>
  t.clean ||
  (t.repaired !== null &&
    t.repaired.stillDifferent === 0 &&
    t.repaired.reportedOnly === 0 &&
    t.repaired.verified === t.missing + t.different + t.repaired.deleted &&
    t.orphans === 0 &&
    t.repaired.deleted === t.extra &&
    // The identity store's disagreements: no more than the records the repair re-sent or deleted.
    t.identityMismatch <= t.missing + t.different + t.extra &&
    t.unverifiedSegments.length === 0);

/** A repair that left every target matching the source (see repairedTarget). */
export const repairedAll = (r: ReconcileReportView) =>
  r.repair && r.status === 'completed' && r.targets.length > 0 && r.targets.every(repairedTarget);

const uidPath = (uid: string) => `/reconcile/${encodeURIComponent(uid)}`;

/** One live line: phase, source rows and, once targets are being checked, the segments done of all. */
function liveLine(r: ReconcileReportView): string {
  const p = r.progress;
  if (!p) return `${r.entityName} reconcile ${r.status}`;
  const segments = p.segmentsTotal > 0 ? ` · segments ${count(p.segmentsChecked)} of ${count(p.segmentsTotal)}` : '';
  const progressBar = p.phase === 'source' ? '' : bar(p.segmentsChecked, p.segmentsTotal || null);
  return `${progressBar}${r.entityName} reconcile ${p.phase}: source rows ${count(p.sourceRows)}${segments}`;
}

const ref = (k: ReconcileKey) => `${k.bkHash}  ${k.refStr ?? '-'}`;
const yesNo = (b: boolean) => (b ? 'yes' : 'NO');

/** The report as text: a header, a table of the targets, then per target its first keys and repair. */
export function reportText(r: ReconcileReportView): string {
  const took = r.durationMs === null ? '' : ` in ${duration(r.durationMs)}`;
  const verdict =
    r.status !== 'completed'
      ? ''
      : r.clean
        ? ': clean'
        : repairedAll(r)
          ? ': differences found and repaired, each checked again (a new reconcile proves the whole target)'
          : ': NOT clean (differences remain)';
  const options = [r.repair ? 'repair' : null, r.sample !== null ? `sample ${count(r.sample)}` : null].filter(Boolean);
  const lines = [
    `Reconcile ${r.uid} of ${r.entityName}${options.length > 0 ? ` (${options.join(', ')})` : ''}: ` +
      `${r.status}${took}${verdict}`,
  ];
  if (r.error) lines.push(`  error: ${r.error}`);
  if (r.source) {
    lines.push(
      `  source: ${count(r.source.rows)} rows, ${count(r.source.records)} records, ${count(r.source.unsyncable)} that cannot sync`,
    );
  }
  if (r.targets.length === 0) return lines.join('\n');
  const rows: Cell[][] = r.targets.map((t) => [
    t.target,
    t.type,
    t.method,
    count(t.sourceCount),
    count(t.targetCount),
    count(t.missing),
    count(t.extra),
    count(t.different),
    count(t.orphans),
    count(t.unverifiedSegments.length),
    yesNo(t.clean),
  ]);
  lines.push(
    '',
    table(
      [
        'TARGET',
        'TYPE',
        'METHOD',
        'SOURCE',
        'TARGET-COUNT',
        'MISSING',
        'EXTRA',
        'DIFFERENT',
        'ORPHANS',
        'UNVERIFIED',
        'CLEAN',
      ],
      rows,
    ),
  );
  for (const t of r.targets) {
    const notes: string[] = [];
    if (t.method === 'sample') {
      notes.push(
        `  sample: ${t.confidenceNote ?? (t.confidence === null ? '-' : `at most ${(t.confidence * 100).toFixed(2)}% of records differ (95% confidence)`)}`,
      );
    }
    if (t.identityMismatch > 0)
      notes.push(`  identity store disagrees with the target on ${count(t.identityMismatch)} records`);
    if (t.unverifiedSegments.length > 0) {
      const shown = t.unverifiedSegments.slice(0, 10).join(', ');
      const more = t.unverifiedSegments.length > 10 ? ', …' : '';
      notes.push(
        `  ${count(t.unverifiedSegments.length)} segments could not be verified (target unavailable; run it again): ${shown}${more}`,
      );
    }
    if (t.note) notes.push(`  note: ${t.note}`);
    for (const kind of KINDS) {
      const keys = t.firstKeys[kind];
      if (keys.length === 0) continue;
      const total = t[kind];
      notes.push(`  ${kind} (first ${keys.length} of ${count(total)}):`, ...keys.map((k) => `    ${ref(k)}`));
    }
    if (t.repaired) {
      const p = t.repaired;
      notes.push(
        `  repair: resent ${count(p.resent)}, deleted ${count(p.deleted)}, reported only ${count(p.reportedOnly)}; ` +
          `checked again: ${count(p.verified)} verified, ${count(p.stillDifferent)} still different`,
      );
    }
    if (notes.length > 0) lines.push('', `${t.target}:`, ...notes);
  }
  return lines.join('\n');
}

/** Polls the report until it ends: a redrawn line on a terminal, a plain line per change otherwise. */
async function followReport(
  api: ApiClient,
  uid: string,
  options: { intervalMs: number; tty: boolean; quiet: boolean },
): Promise<ReconcileReportView> {
  let lastPlain = '';
  for (;;) {
    const report = await api.get<ReconcileReportView>(uidPath(uid));
    if (ENDED.has(report.status)) {
      if (options.tty && !options.quiet) process.stdout.write('\r\x1b[2K');
      return report;
    }
    if (!options.quiet) {
      const line = liveLine(report);
      if (options.tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 160) - 1)}`);
      else if (line !== lastPlain) {
        print(`${new Date().toISOString()} ${line}`);
        lastPlain = line;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/** An action whose failures exit 2 (the reconcile commands' "trouble"), printed as main() prints them. */
function withExitCodes<A extends unknown[]>(action: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    try {
      process.exitCode = await action(...args);
    } catch (error) {
      const message = error instanceof CliError ? error.message : `Unexpected error: ${(error as Error).message}`;
      process.stderr.write(`syncflow: ${message}\n`);
      process.exitCode = RECONCILE_EXIT.error;
    }
  };
}

/** Usage errors (a missing argument, an unknown option) exit 2 as well; help and version exit 0. */
const usageExit = (err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : RECONCILE_EXIT.error);

const positiveInt = (flag: string, value: string, max: number) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new CliError(`${flag} must be a whole number from 1 to ${count(max)}, not "${value}".`);
  }
  return n;
};

/**
 * `syncflow reconcile …`: `run <entity>` (also the default: `syncflow reconcile <entity>`), `show <uid>`,
 * `list`. An entity called run, show or list is reconciled with `syncflow reconcile run <entity>`.
 */
export function registerReconcile(program: Command, api: () => ApiClient) {
  const reconcile = program
    .command('reconcile')
    .description(
      "Compare an entity's targets with its normalized source (missing, extra, different, orphans); optionally repair. " +
        '`syncflow reconcile <entity>` is `syncflow reconcile run <entity>`. Exit 0 clean, 1 differences, 2 error.',
    )
    .exitOverride(usageExit);

  reconcile
    .command('run', { isDefault: true })
    .description(
      'Start a reconcile of an entity and (by default) follow it to its report; exit 0 clean, 1 differences remain, 2 error',
    )
    .argument('<entity>', 'the entity')
    .option('--target <name>', 'only this target (repeat for several)', (v: string, prev: string[] | undefined) => [
      ...(prev ?? []),
      v,
    ])
    .option(
      '--repair',
      're-send missing and different records, delete extra ones the delete policy allows, check again',
    )
    .option('--sample <n>', 'HTTP targets: check a sample of n keys instead of every key')
    .option('--no-follow', 'print the report uid and return at once')
    .option('--json', 'print the API answer (the final report) as JSON, without progress')
    .option('--interval <ms>', 'how often the progress is polled', '1000')
    .exitOverride(usageExit)
    .action(
      withExitCodes(
        async (
          entity: string,
          opts: {
            target?: string[];
            repair?: boolean;
            sample?: string;
            follow: boolean;
            json?: boolean;
            interval: string;
          },
        ) => {
          const sample = opts.sample === undefined ? undefined : positiveInt('--sample', opts.sample, 100_000);
          const intervalMs = positiveInt('--interval', opts.interval, 3_600_000);
          const started = await api().post<Started>('/reconcile', {
            entity,
            ...(opts.target && opts.target.length > 0 ? { targets: opts.target } : {}),
            ...(opts.repair ? { repair: true } : {}),
            ...(sample === undefined ? {} : { sample }),
          });
          if (!opts.follow) {
            print(
              opts.json
                ? JSON.stringify(started, null, 2)
                : `Started a reconcile of ${started.entityName}${opts.repair ? ' with repair' : ''}: report ${started.reportUid} (workflow ${started.workflowId})\n` +
                    `  Watch it: syncflow reconcile show ${started.reportUid}`,
            );
            return RECONCILE_EXIT.clean;
          }
          if (!opts.json) {
            print(`Reconciling ${started.entityName}${opts.repair ? ' with repair' : ''}: report ${started.reportUid}`);
          }
          const report = await followReport(api(), started.reportUid, {
            intervalMs,
            tty: Boolean(process.stdout.isTTY),
            quiet: Boolean(opts.json),
          });
          print(opts.json ? JSON.stringify(report, null, 2) : reportText(report));
          return exitCodeOf(report);
        },
      ),
    );

  reconcile
    .command('show')
    .description('One reconcile report (its progress while it runs); exit 0 clean or running, 1 differences, 2 error')
    .argument('<uid>', "the report's uid (see reconcile list)")
    .option('--json', 'print the API answer as JSON')
    .exitOverride(usageExit)
    .action(
      withExitCodes(async (uid: string, opts: { json?: boolean }) => {
        const report = await api().get<ReconcileReportView>(uidPath(uid));
        if (opts.json) print(JSON.stringify(report, null, 2));
        else {
          print(reportText(report));
          if (!ENDED.has(report.status)) print(`  live: ${liveLine(report)}`);
        }
        return exitCodeOf(report);
      }),
    );

  reconcile
    .command('list')
    .description('Reconcile reports, newest first')
    .option('--entity <name>', 'only this entity')
    .option('--limit <n>', 'how many (at most 100)', '20')
    .option('--cursor <cursor>', 'continue after an earlier list (its "More" cursor)')
    .option('--json', 'print the API answer as JSON')
    .exitOverride(usageExit)
    .action(
      withExitCodes(async (opts: { entity?: string; limit: string; cursor?: string; json?: boolean }) => {
        const query = new URLSearchParams({ limit: String(positiveInt('--limit', opts.limit, 100)) });
        if (opts.entity) query.set('entity', opts.entity);
        if (opts.cursor) query.set('cursor', opts.cursor);
        const page = await api().get<{ items: ReconcileReportView[]; nextCursor: string | null }>(
          `/reconcile?${query}`,
        );
        if (opts.json) {
          print(JSON.stringify(page, null, 2));
          return RECONCILE_EXIT.clean;
        }
        const differences = (r: ReconcileReportView) =>
          r.targets.reduce((n, t) => n + t.missing + t.extra + t.different + t.orphans, 0);
        print(
          table(
            ['REPORT', 'ENTITY', 'STATUS', 'STARTED', 'DURATION', 'TARGETS', 'DIFFERENCES', 'CLEAN', 'REPAIR'],
            page.items.map((r) => [
              r.uid,
              r.entityName,
              r.status,
              r.startedAt,
              r.durationMs === null ? '-' : duration(r.durationMs),
              r.targets.map((t) => t.target).join(',') || '-',
              r.status === 'completed' ? count(differences(r)) : '-',
              r.clean === null ? '-' : yesNo(r.clean),
              r.repair ? 'yes' : 'no',
            ]),
          ),
        );
        print(`${page.items.length} report${page.items.length === 1 ? '' : 's'}`);
        if (page.nextCursor) print(`More: --cursor ${page.nextCursor}`);
        return RECONCILE_EXIT.clean;
      }),
    );
}
