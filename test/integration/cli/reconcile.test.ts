import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { listen } from '../../../api/serve.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { terminateAll } from '../api/support.ts';
import { runCli } from './cli-run.ts';

/**
 * `syncflow reconcile` end to end: the CLI against a live API and a worker running the reconcile workflow.
 * Exit codes: 0 clean, 1 differences remain, 2 error (refused by the API, unreachable, failed reconcile).
 */
describe('syncflow reconcile', () => {
  let h: Harness;
  let pool: pg.Pool;
  let server: { url: string; close(): Promise<void> };
  let env: Record<string, string>;
  let viewerEnv: Record<string, string>;
  const schema = `rcc_${randomUUID().slice(0, 8)}`;
  const name = `items_${schema.slice(4)}`;
  const target = `${schema}.${name}_target`;
  const workflows: string[] = [];
  const reportUid = (stdout: string) => /report ([0-9a-f-]{36})/.exec(stdout)?.[1];

  beforeAll(async () => {
    h = await createHarness('reconcile-cli');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(30));
    await registerEntity(h, itemEntity(name, schema));
    await h.prisma.entity.update({ where: { name }, data: { mode: 'live' } });
    await h.startWorker();
    const app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    server = await listen(app, '127.0.0.1', 0);
    env = { SYNCFLOW_URL: server.url, SYNCFLOW_API_KEY: (await createApiKey(h.prisma, 'rc-operator', 'operator')).key };
    viewerEnv = {
      SYNCFLOW_URL: server.url,
      SYNCFLOW_API_KEY: (await createApiKey(h.prisma, 'rc-viewer', 'viewer')).key,
    };
    const [run] = await runSync(h, [name], 'full', true);
    expect(run!.summary).toMatchObject({ status: 'completed', inserted: 30 });
  });
  afterAll(async () => {
    const reports = await h.prisma.reconcileReport.findMany({
      where: { entityName: name },
      select: { workflowId: true },
    });
    await terminateAll(h.client, [...workflows, ...reports.map((r) => r.workflowId)]);
    await server?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await h?.close();
  });

  it('follows a reconcile of a clean target to its report: exit 0', async () => {
    const result = await runCli(['reconcile', name, '--interval', '200'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Reconciling ${name}: report `);
    expect(result.stdout).toMatch(new RegExp(`Reconcile [0-9a-f-]{36} of ${name}: completed in .*: clean`));
    expect(result.stdout).toContain('source: 30 rows, 30 records, 0 that cannot sync');
    expect(result.stdout).toMatch(/TARGET\s+TYPE\s+METHOD\s+SOURCE\s+TARGET-COUNT\s+MISSING\s+EXTRA\s+DIFFERENT/);
    expect(result.stdout).toMatch(/main\s+postgres\s+segments\s+30\s+30\s+0\s+0\s+0\s+0\s+0\s+yes/);
    // Off a terminal the progress is plain lines, never redrawn.
    expect(result.stdout).not.toContain('\r');
  });

  it('reports a row deleted from the target by hand with its reference: exit 1; --repair restores it', async () => {
    await pool.query(`DELETE FROM ${target} WHERE part_no = 'P-000004'`);
    const result = await runCli(['reconcile', 'run', name, '--target', 'main', '--interval', '200'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('NOT clean (differences remain)');
    expect(result.stdout).toMatch(/main\s+postgres\s+segments\s+30\s+29\s+1\s+0\s+0\s+0\s+0\s+NO/);
    expect(result.stdout).toMatch(/missing \(first 1 of 1\):\n\s+[0-9a-f]{32}\s+.*P-000004/);

    const repair = await runCli(['reconcile', name, '--repair', '--interval', '200'], env);
    expect(repair.stderr).toBe('');
    // Found (the report is not clean) and repaired, each key checked again: nothing remains, exit 0.
    expect(repair.code, repair.stdout).toBe(0);
    expect(repair.stdout).toContain('differences found and repaired, each checked again');
    expect(repair.stdout).toMatch(
      /repair: resent 1, deleted 0, reported only 0; checked again: 1 verified, 0 still different/,
    );
    expect(Number((await pool.query(`SELECT count(*) AS n FROM ${target}`)).rows[0].n)).toBe(30);
    const after = await runCli(['reconcile', name, '--interval', '200'], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(': clean');
  });

  it('--no-follow prints the report uid; show prints it (exit 1 with differences), --json the API answer', async () => {
    await pool.query(`UPDATE ${target} SET erp_data_hash = md5('a') || md5('b') WHERE part_no = 'P-000009'`);
    const started = await runCli(['reconcile', name, '--no-follow'], env);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const uid = reportUid(started.stdout);
    expect(uid).toBeDefined();
    expect(started.stdout).toContain(`syncflow reconcile show ${uid}`);
    let report: { status: string } = { status: 'running' };
    for (let i = 0; i < 300 && report.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const json = await runCli(['reconcile', 'show', uid!, '--json'], viewerEnv);
      report = JSON.parse(json.stdout);
    }
    expect(report).toMatchObject({ uid, status: 'completed', clean: false });
    const shown = await runCli(['reconcile', 'show', uid!], viewerEnv);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(/different \(first 1 of 1\):\n\s+[0-9a-f]{32}\s+.*P-000009/);
  });

  it('list shows the reports newest first (exit 0), --json the page', async () => {
    const list = await runCli(['reconcile', 'list', '--entity', name], viewerEnv);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /REPORT\s+ENTITY\s+STATUS\s+STARTED\s+DURATION\s+TARGETS\s+DIFFERENCES\s+CLEAN\s+REPAIR/,
    );
    const rows = list.stdout.split('\n').filter((l) => l.includes(name));
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows[0]).toMatch(/completed .* main\s+1\s+NO\s+no$/);
    const page = await runCli(['reconcile', 'list', '--entity', name, '--limit', '2', '--json'], viewerEnv);
    const answer = JSON.parse(page.stdout);
    expect(answer.items).toHaveLength(2);
    expect(answer.nextCursor).toEqual(expect.any(String));
    const more = await runCli(['reconcile', 'list', '--entity', name, '--limit', '2'], viewerEnv);
    expect(more.stdout).toContain(`More: --cursor ${answer.nextCursor}`);
  });

  it('exits 2 on errors: unknown entity or report, a viewer key, a bad option, an unreachable API', async () => {
    const unknown = await runCli(['reconcile', 'no_such_entity'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('404 entity_not_found');
    // `run` names an entity that is also a subcommand's name.
    const named = await runCli(['reconcile', 'run', 'show'], env);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('No entity named "show"');
    const report = await runCli(['reconcile', 'show', randomUUID()], env);
    expect(report.code).toBe(2);
    expect(report.stderr).toContain('404 reconcile_report_not_found');
    const viewer = await runCli(['reconcile', name], viewerEnv);
    expect(viewer.code).toBe(2);
    expect(viewer.stderr).toContain('403 forbidden');
    const target = await runCli(['reconcile', name, '--target', 'nowhere'], env);
    expect(target.code).toBe(2);
    expect(target.stderr).toMatch(/400 validation_failed[\s\S]*- targets: .*"nowhere"/);
    const sample = await runCli(['reconcile', name, '--sample', '0'], env);
    expect(sample.code).toBe(2);
    expect(sample.stderr).toContain('--sample must be a whole number');
    const option = await runCli(['reconcile', name, '--bogus'], env);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--bogus'");
    const down = await runCli(['reconcile', 'list'], { SYNCFLOW_URL: 'http://127.0.0.1:9', SYNCFLOW_API_KEY: 'x' });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('Cannot reach the SyncFlow API');
  });
});
