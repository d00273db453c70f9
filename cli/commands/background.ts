import type { Command } from 'commander';
import { type ApiClient, CliError } from '../api-client.ts';
import { bar } from '../follow.ts';
import { count, print, table } from '../output.ts';

/** The API's answer (GET /entities/:name/background): control/background.ts's BackgroundView, as JSON. */
interface BackgroundView {
  entityName: string;
  windowStart: string;
  windowEnd: string;
  timeZone: string;
  targetDays: number;
  state: string;
  rowsDone: number;
  totalRowsEstimate: number | null;
  dailyQuota: number | null;
  rowsToday: number;
  nightsUsed: number;
  currentOffset: string | null;
  windowOpen: boolean;
  windowOpenedAt: string | null;
  windowClosesAt: string;
  nextWindowOpensAt: string;
  estimatedCompletionAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  lastError: string | null;
  workflowId: string;
  runningBatchUid: string | null;
  nights: Array<{
    batchUid: string;
    status: string;
    nightOpenedAt: string | null;
    startedAt: string | null;
    completedAt: string | null;
    fetched: number;
    failed: number;
  }>;
}

const pathOf = (entity: string) => `/entities/${encodeURIComponent(entity)}/background`;

/** An instant as local time in the load's zone, `YYYY-MM-DD HH:MM` (the zone named once, in the header). */
function local(iso: string | null, timeZone: string): string {
  if (!iso) return '-';
  try {
    return new Intl.DateTimeFormat('sv-SE', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(iso));
  } catch {
    return iso;
  }
}

const settingsLine = (v: BackgroundView) =>
  `window ${v.windowStart}–${v.windowEnd} ${v.timeZone}, ${v.targetDays} night${v.targetDays === 1 ? '' : 's'}`;

const rowsText = (v: BackgroundView) =>
  `${count(v.rowsDone)} of ${v.totalRowsEstimate === null ? '?' : `~${count(v.totalRowsEstimate)}`} rows`;

/** What happens next: the window open until …, or opening at … . */
function windowText(v: BackgroundView): string {
  if (v.state === 'completed') return 'load complete';
  return v.windowOpen
    ? `open, closes ${local(v.windowClosesAt, v.timeZone)}; next opens ${local(v.nextWindowOpensAt, v.timeZone)}`
    : `closed, opens ${local(v.nextWindowOpensAt, v.timeZone)}, closes ${local(v.windowClosesAt, v.timeZone)}`;
}

/** `background show`: the load's progress as bars, its schedule, and a table of its nights. */
export function showText(v: BackgroundView): string {
  const zone = v.timeZone;
  const lines = [
    `${v.entityName}: background load ${v.state} (${settingsLine(v)}; times in ${zone})`,
    `  rows        ${bar(v.rowsDone, v.totalRowsEstimate)}${rowsText(v)}`,
    `  nights      ${bar(v.nightsUsed, v.targetDays)}${v.nightsUsed} of ${v.targetDays} planned`,
    `  ${v.windowOpen ? 'tonight   ' : 'last night'}  ${count(v.rowsToday)} rows${v.dailyQuota === null ? ' (no quota: bounded by the window)' : ` of quota ${count(v.dailyQuota)}`}`,
    `  window      ${windowText(v)}`,
    `  completion  ${v.completedAt ? `completed ${local(v.completedAt, zone)}` : v.estimatedCompletionAt ? `estimated ${local(v.estimatedCompletionAt, zone)}` : '-'}`,
    `  offset      ${v.currentOffset ?? '-'}`,
    `  workflow    ${v.workflowId}${v.runningBatchUid ? ` (running batch ${v.runningBatchUid})` : ''}`,
  ];
  if (v.lastError) lines.push(`  last error  ${v.lastError}`);
  lines.push('');
  if (v.nights.length === 0) {
    lines.push('No nights yet.');
  } else {
    // Oldest first, numbered: night 1 is the load's first batch.
    const nights = [...v.nights].reverse();
    lines.push(
      table(
        ['#', 'BATCH', 'OPENED', 'STARTED', 'COMPLETED', 'ROWS', 'FAILED', 'STATUS'],
        nights.map((n, i) => [
          i + 1,
          n.batchUid,
          local(n.nightOpenedAt, zone),
          local(n.startedAt, zone),
          local(n.completedAt, zone),
          count(n.fetched),
          count(n.failed),
          n.status,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

const brief = (v: BackgroundView) =>
  `${rowsText(v)}, ${v.nightsUsed} of ${v.targetDays} nights; window ${windowText(v)}`;

/** A whole number of nights, or the text as given (the API names the field when it is not one). */
const daysOption = (days: string) => (/^-?\d+$/.test(days.trim()) ? Number(days) : days);

/** `syncflow background …`: an entity's multi-day background load inside a nightly window. */
export function registerBackground(program: Command, api: () => ApiClient) {
  const background = program
    .command('background')
    .description("Multi-day background loads: an entity's initial load read only inside a nightly window");

  background
    .command('set')
    .description("Create the entity's load or change its window, zone and days (options not given are kept)")
    .argument('<entity>')
    .option('--start <HH:MM>', 'local time the window opens (default 19:00)')
    .option('--end <HH:MM>', 'local time it closes; earlier than --start crosses midnight (default 07:00)')
    .option('--zone <zone>', 'IANA time zone of the window, e.g. Europe/Berlin (default UTC)')
    .option('--days <n>', 'nights the whole load should take (default 7)')
    .action(async (entity: string, opts: { start?: string; end?: string; zone?: string; days?: string }) => {
      const client = api();
      // PUT replaces the settings: start from the stored ones, so only what is given changes.
      const current = await client.get<BackgroundView>(pathOf(entity)).catch((error: unknown) => {
        if (error instanceof CliError && error.api?.code === 'background_not_found') return null;
        throw error;
      });
      const body = {
        ...(current
          ? {
              windowStart: current.windowStart,
              windowEnd: current.windowEnd,
              timeZone: current.timeZone,
              targetDays: current.targetDays,
            }
          : {}),
        ...(opts.start !== undefined ? { windowStart: opts.start } : {}),
        ...(opts.end !== undefined ? { windowEnd: opts.end } : {}),
        ...(opts.zone !== undefined ? { timeZone: opts.zone } : {}),
        ...(opts.days !== undefined ? { targetDays: daysOption(opts.days) } : {}),
      };
      const v = await client.put<BackgroundView>(pathOf(entity), body);
      print(`${current ? 'Updated' : 'Set'} the background load of ${entity}: ${settingsLine(v)} (${v.state}).`);
      print(`  window ${windowText(v)} (${v.timeZone})`);
    });

  background
    .command('show')
    .description("The load's progress: rows and nights as bars, the next window, and a table of its nights")
    .argument('<entity>')
    .option('--json', 'print the API answer as JSON')
    .action(async (entity: string, opts: { json?: boolean }) => {
      const v = await api().get<BackgroundView>(pathOf(entity));
      print(opts.json ? JSON.stringify(v, null, 2) : showText(v));
    });

  background
    .command('start')
    .description(
      'Start the load (the defaults if never set); after a stop it resumes from its offset. Refuses other syncs of the entity while it runs',
    )
    .argument('<entity>')
    .action(async (entity: string) => {
      const v = await api().post<BackgroundView>(`${pathOf(entity)}/start`);
      print(
        `Started the background load of ${entity} (workflow ${v.workflowId}): ${v.state}, ${brief(v)} (${v.timeZone}).`,
      );
    });

  for (const [action, what] of [
    ['pause', 'Pause the load; answers once it is paused'],
    ['resume', 'Resume a paused load'],
    ['stop', 'Stop the load, keeping its offset (start resumes from it)'],
  ] as const) {
    background
      .command(action)
      .description(what)
      .argument('<entity>')
      .action(async (entity: string) => {
        const v = await api().post<BackgroundView>(`${pathOf(entity)}/${action}`);
        print(`The background load of ${entity} is ${v.state}: ${brief(v)} (${v.timeZone}).`);
      });
  }

  background
    .command('delete')
    .description("Delete the load's settings and progress (stop it first)")
    .argument('<entity>')
    .action(async (entity: string) => {
      await api().delete(pathOf(entity));
      print(`Deleted the background load of ${entity}.`);
    });
}
