import type { SyncStatus } from '../control/syncs.ts';
import type { RecordCounts } from '../pipeline/accounting.ts';
import type { ApiClient } from './api-client.ts';
import { count, duration, print } from './output.ts';

/**
 * `sync start --follow`: polls a batch's status until it ends. On a terminal
 * it redraws one progress line (a bar when the source's row estimate is
 * known, live counts and rows/s); otherwise it prints a plain line whenever
 * the counts change, so logs stay readable. Ends with the batch's counts.
 */
/** The API's status answer (GET /sync/status/:batchUid) is control/syncs.ts's SyncStatus, as JSON. */
export type Counts = RecordCounts;
export type SyncStatusView = SyncStatus;

const ENDED = new Set(['completed', 'failed', 'cancelled']);
const BAR_WIDTH = 24;

export function countsLine(c: Counts): string {
  return `fetched ${count(c.fetched)} · inserted ${count(c.inserted)} · updated ${count(c.updated)} · skipped ${count(c.skipped)} · failed ${count(c.failed)} · pending ${count(c.pending)} · deleted ${count(c.deleted)}`;
}

/** A progress bar with its percentage and a trailing space ('' when the total is unknown). */
export function bar(done: number, total: number | null): string {
  if (!total || total <= 0) return '';
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * BAR_WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% `;
}

function liveLine(s: SyncStatusView): string {
  const counts = s.progress?.counts ?? s.counts;
  const rate = s.progress ? ` · ${count(s.progress.rowsPerSecond)} rows/s` : '';
  const phase = s.progress?.paused ? 'paused' : (s.progress?.phase ?? s.status);
  return `${bar(counts.fetched, s.progress?.estimatedRows ?? null)}${s.entityName} ${phase}: ${countsLine(counts)}${rate}`;
}

/** Rows per second over the whole batch, from its final counts and times. */
export function finalRate(s: SyncStatusView): number | null {
  if (!s.startedAt || !s.completedAt) return null;
  const ms = Date.parse(s.completedAt) - Date.parse(s.startedAt);
  return ms > 0 ? (s.counts.fetched * 1000) / ms : null;
}

export function summary(s: SyncStatusView): string {
  const ms = s.startedAt && s.completedAt ? Date.parse(s.completedAt) - Date.parse(s.startedAt) : null;
  const rate = finalRate(s);
  const lines = [
    `${s.entityName}: batch ${s.batchUid} ${s.status}${ms !== null ? ` in ${duration(ms)}` : ''}${s.dryRun ? ' (dry run: nothing written)' : ''}`,
    `  ${countsLine(s.counts)}`,
    `  ${rate === null ? '-' : count(rate)} rows/s`,
  ];
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}

export async function follow(
  api: ApiClient,
  batchUid: string,
  options: { intervalMs: number; tty: boolean },
): Promise<SyncStatusView> {
  let lastPlain = '';
  for (;;) {
    const status = await api.get<SyncStatusView>(`/sync/status/${batchUid}`);
    if (ENDED.has(status.status)) {
      if (options.tty) process.stdout.write('\r\x1b[2K');
      print(summary(status));
      return status;
    }
    const line = liveLine(status);
    if (options.tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 160) - 1)}`);
    else if (line !== lastPlain) {
      print(`${new Date().toISOString()} ${line}`);
      lastPlain = line;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
