import { type BackgroundView, getBackground, setBackground, startBackground } from '../control/background.ts';
import { listSchedules, setSchedule } from '../control/schedules.ts';
import type { ControlDeps } from '../control/syncs.ts';
import { getBackgroundLoad, isBackgroundLoadActive } from '../db/background.ts';
import { setEntityMode } from '../db/entities.ts';
import { clockTimeAt } from '../pipeline/background/window.ts';
import { DEMO_TIME_ZONE } from './entities.ts';

/**
 * The demo's second half: a multi-day background load of one entity, in a window of the plant's zone that is
 * open when the demo starts (for an hour), spread over three nights, so the first night's quota is read at
 * once and the load then waits for tomorrow's window; and a recurring incremental sync of another entity on a
 * Temporal Schedule. A later start shows the load where it stands.
 */
export const DEMO_BACKGROUND_NIGHTS = 3;
const DEMO_SCHEDULE_EVERY = '5m';

/** Entities whose background load is under way: their other syncs are refused until it ends. */
export async function entitiesUnderBackgroundLoad(control: ControlDeps, names: readonly string[]): Promise<string[]> {
  const busy: string[] = [];
  for (const name of names) if (await isBackgroundLoadActive(control.prisma, name)) busy.push(name);
  return busy;
}

export async function demoBackgroundLoad(
  control: ControlDeps,
  entity: string,
  log: (line: string) => void,
  options: { waitMs?: number } = {},
): Promise<BackgroundView> {
  const existing = await getBackgroundLoad(control.prisma, entity);
  let view: BackgroundView;
  if (!existing || existing.status === 'not_started') {
    // A load writes: the entity is promoted to live (the demo's syncs execute anyway).
    await setEntityMode(control.prisma, entity, 'live');
    const now = Date.now();
    await setBackground(control, entity, {
      windowStart: clockTimeAt(now - 60_000, DEMO_TIME_ZONE),
      windowEnd: clockTimeAt(now + 60 * 60_000, DEMO_TIME_ZONE),
      timeZone: DEMO_TIME_ZONE,
      targetDays: DEMO_BACKGROUND_NIGHTS,
    });
    view = await startBackground(control, entity);
    log(
      `\nBackground load of ${entity}: window ${view.windowStart}–${view.windowEnd} ${view.timeZone} (open now), ` +
        `${view.targetDays} nights; each night reads its share and the load resumes at its offset the next night.`,
    );
    // Until tonight's quota is read (the load then sleeps until the window closes, and then until it reopens).
    const deadline = Date.now() + (options.waitMs ?? 60_000);
    let last = '';
    for (;;) {
      view = await getBackground(control, entity);
      const line = progressLine(view);
      if (line !== last) log(`  ${line}`);
      last = line;
      const quotaRead = view.dailyQuota !== null && view.rowsToday >= view.dailyQuota;
      if (quotaRead && view.state === 'waiting_for_window') break;
      if (view.state === 'completed' || view.state === 'failed' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } else {
    view = await getBackground(control, entity);
    log(`\nBackground load of ${entity} (started ${view.startedAt ?? '-'}):`);
    log(`  ${progressLine(view)}`);
  }
  if (view.state !== 'completed') {
    log(
      `  ${view.windowOpen ? `window closes ${view.windowClosesAt}, ` : ''}next window opens ${view.nextWindowOpensAt}` +
        (view.estimatedCompletionAt ? `; estimated completion ${view.estimatedCompletionAt}` : '') +
        `. Watch it: npm run syncflow -- background show ${entity}`,
    );
  }
  return view;
}

function progressLine(v: BackgroundView): string {
  const total = v.totalRowsEstimate;
  const of = total === null ? ' (estimate when the window opens)' : ` of ~${total.toLocaleString('en-US')}`;
  const percent = total ? ` (${Math.min(100, Math.round((v.rowsDone / total) * 100))}%)` : '';
  const quota =
    v.dailyQuota === null
      ? 'no quota'
      : `tonight ${v.rowsToday.toLocaleString('en-US')} of quota ${v.dailyQuota.toLocaleString('en-US')}`;
  return (
    `${v.state}: ${v.rowsDone.toLocaleString('en-US')}${of} rows${percent}, ` +
    `night ${Math.max(1, v.nightsUsed)} of ${v.targetDays}, ${quota}`
  );
}

/** An incremental sync of `entity` every 5 minutes, on a Temporal Schedule (kept as it is on later starts). */
export async function demoSchedule(control: ControlDeps, entity: string, log: (line: string) => void): Promise<void> {
  const existing = (await listSchedules(control, entity)).find((s) => s.kind === 'incremental');
  const schedule =
    existing ??
    (
      await setSchedule(control, entity, {
        kind: 'incremental',
        every: DEMO_SCHEDULE_EVERY,
        note: 'Demo: the incremental sync every 5 minutes',
      })
    ).schedule;
  log(
    `\nSchedule ${schedule.scheduleId}: incremental sync of ${entity} every ${schedule.spec.every ?? schedule.spec.cron}` +
      `${schedule.paused ? ' (paused)' : ''}; next runs ${schedule.nextRunTimes.slice(0, 2).join(', ')}. ` +
      `Also in the Temporal Web UI (Schedules) and \`temporal schedule list\`.`,
  );
}
