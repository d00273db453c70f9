// First: @hono/zod-openapi extends zod before control/ builds its schemas (sync-fixtures loads control/syncs.ts).
import '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { setEntityMode } from '../../../db/entities.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { type ApiTestContext, createApiTestContext, terminateAll } from '../api/support.ts';
import { runCli } from './cli-run.ts';

const schema = `climg_${randomUUID().slice(0, 8)}`;
const suffix = schema.slice(6);
/** Migrated, its status read by id and by entity, a step not reached refused, then aborted. */
const ABORT = `climg_abort_${suffix}`;
/** Migrated and rolled back. */
const BACK = `climg_back_${suffix}`;
const ALL = [ABORT, BACK];

/**
 * `syncflow migrate …` as an operator runs it: child processes against a live API over HTTP, with a real worker
 * running the migrations.
 */
describe('syncflow migrate', () => {
  let h: Harness;
  let t: ApiTestContext;
  let pool: pg.Pool;
  let env: Record<string, string>;
  let dir: string;
  const toFile = (entity: string) => path.join(dir, `${entity}.json`);

  /** Polls `migrate status --json` until `done(view)` holds. */
  async function until(id: string, done: (view: { waitingFor: unknown; status: string }) => boolean) {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const result = await runCli(['migrate', 'status', id, '--json'], env);
      expect(result.code, result.stderr).toBe(0);
      const view = JSON.parse(result.stdout);
      if (done(view)) return view;
      if (Date.now() > deadline) throw new Error(`migration ${id} did not get there: ${result.stdout}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  beforeAll(async () => {
    h = await createHarness('migrate-cli');
    t = await createApiTestContext('migrate-cli', { taskQueue: h.taskQueue });
    const { url } = await t.serve();
    env = { SYNCFLOW_URL: url, SYNCFLOW_API_KEY: t.key };
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(30));
    dir = await mkdtemp(path.join(tmpdir(), 'syncflow-migrate-'));
    for (const name of ALL) {
      await registerEntity(h, itemEntity(name, schema));
      await setEntityMode(h.prisma, name, 'live');
      await writeFile(
        toFile(name),
        JSON.stringify({ type: 'postgres', name: 'next', connection: LOCAL_CONNECTION, schema, table: `${name}_next` }),
      );
    }
    await h.startWorker();
    for (const name of ALL) {
      const [run] = await runSync(h, [name], 'full', true);
      expect(run!.summary).toMatchObject({ status: 'completed', inserted: 30 });
    }
  });
  afterAll(async () => {
    await terminateAll(
      t.temporal,
      ALL.flatMap((n) => [`migrate-${n}`, `sync-${n}`]),
    );
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
    await rm(dir, { recursive: true, force: true });
    await t.close();
    await h.close();
  });

  it('start refuses a bad --to-file before calling the API: missing, not JSON, YAML, not one object', async () => {
    const notJson = path.join(dir, 'not-json.json');
    await writeFile(notJson, '{"type": "postgres",');
    const list = path.join(dir, 'list.json');
    await writeFile(list, '[{"type": "postgres"}]');
    for (const [file, message] of [
      [path.join(dir, 'nowhere.json'), 'Cannot read'],
      [notJson, 'is not valid JSON'],
      [path.join(dir, 'target.yaml'), 'not YAML'],
      [list, 'must hold one target configuration'],
    ] as const) {
      const result = await runCli(['migrate', 'start', ABORT, '--from', 'main', '--to-file', file], env);
      expect(result.code, file).toBe(1);
      expect(result.stderr, file).toContain(message);
    }
    const noFile = await runCli(['migrate', 'start', ABORT, '--from', 'main'], env);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('--to-file');
  });

  it('start relays the API refusals naming the field: unknown --from, a taken target name, bad soak minutes', async () => {
    const unknownFrom = await runCli(['migrate', 'start', ABORT, '--from', 'nowhere', '--to-file', toFile(ABORT)], env);
    expect(unknownFrom.code).toBe(1);
    expect(unknownFrom.stderr).toContain('400 validation_failed');
    expect(unknownFrom.stderr).toContain('- from:');
    const taken = path.join(dir, 'taken.json');
    await writeFile(
      taken,
      JSON.stringify({ type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: 'x' }),
    );
    const duplicate = await runCli(['migrate', 'start', ABORT, '--from', 'main', '--to-file', taken], env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('- to.name:');
    const soak = await runCli(
      ['migrate', 'start', ABORT, '--from', 'main', '--to-file', toFile(ABORT), '--soak-minutes', 'soon'],
      env,
    );
    expect(soak.code).toBe(1);
    expect(soak.stderr).toContain('- soakMinutes:');
    const unknownEntity = await runCli(
      ['migrate', 'start', 'climg_nobody', '--from', 'main', '--to-file', toFile(ABORT)],
      env,
    );
    expect(unknownEntity.code).toBe(1);
    expect(unknownEntity.stderr).toContain('404 entity_not_found');
  });

  it('status, approve, rollback and abort of an unknown migration: 404; status of an entity without one', async () => {
    const id = randomUUID();
    for (const args of [
      ['status', id],
      ['approve', id, 'cutover'],
      ['rollback', id],
      ['abort', id],
    ]) {
      const result = await runCli(['migrate', ...args], env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toContain('(404 ');
    }
    const none = await runCli(['migrate', 'status', BACK], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`No migration of "${BACK}"`);
    const badStep = await runCli(['migrate', 'approve', id, 'launch'], env);
    expect(badStep.code).toBe(1);
    expect(badStep.stderr).toContain('- step:');
  });

  it('start, a refused second start, status by id and by entity (table, roles, wait), a refused early approval, approve, abort', async () => {
    const started = await runCli(
      ['migrate', 'start', ABORT, '--from', 'main', '--to-file', toFile(ABORT), '--json', '--soak-minutes', '5'],
      env,
    );
    expect(started.code, started.stderr).toBe(0);
    const { id, workflowId, entityName } = JSON.parse(started.stdout);
    expect({ workflowId, entityName }).toEqual({ workflowId: `migrate-${ABORT}`, entityName: ABORT });

    // Another target (`next` may be the entity's shadow target already): 409, one migration per entity at a time.
    const other = path.join(dir, 'other.json');
    await writeFile(
      other,
      JSON.stringify({ type: 'postgres', name: 'other', connection: LOCAL_CONNECTION, schema, table: 'other' }),
    );
    const twice = await runCli(['migrate', 'start', ABORT, '--from', 'main', '--to-file', other], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('(409 migration_running)');

    const waiting = (await until(id, (v) => v.waitingFor !== null)) as { waitingFor: { step: string } };
    const status = await runCli(['migrate', 'status', id], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Migration ${id} of ${ABORT}: main → next: running`);
    expect(status.stdout).toMatch(/STEP\s+STATUS\s+STARTED\s+FINISHED\s+RECONCILE\s+CLEAN\s+FORCED\s+NOTE/);
    for (const step of ['shadow', 'backfill', 'verify', 'cutover', 'soak', 'retire']) {
      expect(status.stdout).toMatch(new RegExp(`\\n${step}\\s+(pending|running|waiting|done|skipped)`));
    }
    expect(status.stdout).toContain('roles: main primary, next shadow');
    expect(waiting.waitingFor.step).toBe('backfill');
    expect(status.stdout).toContain(`waiting for: an approval of backfill: syncflow migrate approve ${id} backfill`);
    expect(status.stdout).toContain('soak 5 min');
    const byEntity = await runCli(['migrate', 'status', ABORT], env);
    expect(byEntity.code).toBe(0);
    expect(byEntity.stdout).toContain(`Migration ${id} of ${ABORT}`);

    const early = await runCli(['migrate', 'approve', id, 'retire'], env);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('(409 ');
    expect(early.stderr).toContain('retire');

    const approved = await runCli(['migrate', 'approve', id, 'backfill'], env);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Approved backfill of migration ${id} (${ABORT}): the run goes on.`);
    await until(id, (v) => (v.waitingFor as { step?: string } | null)?.step === 'verify');

    const aborted = await runCli(['migrate', 'abort', id], env);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toContain(`The abort of migration ${id} (${ABORT}) is accepted`);
    const again = await runCli(['migrate', 'abort', id, '--json'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(409 migration_refused)');
    await until(id, (v) => v.status !== 'running');
    const ended = await runCli(['migrate', 'status', id], env);
    expect(ended.stdout).toContain(`Migration ${id} of ${ABORT}: main → next: aborted`);
    expect(ended.stdout).toMatch(/\nshadow\s+done/);
    expect(ended.stdout).toMatch(/\nbackfill\s+done\s+\S+ \S+\s+\S+ \S+/);
    expect(ended.stdout).toContain('waiting for: nothing (the migration is aborted)');
  });

  it('rollback: the previous roles, shown by status', async () => {
    const started = await runCli(
      ['migrate', 'start', BACK, '--from', 'main', '--to-file', toFile(BACK), '--soak-check-minutes', '2'],
      env,
    );
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`Started the migration of ${BACK} from main to next: `);
    const id = /: ([0-9a-f-]{36}) \(workflow/.exec(started.stdout)?.[1];
    expect(id).toBeDefined();
    await until(id!, (v) => v.waitingFor !== null);
    const rolled = await runCli(['migrate', 'rollback', id!, '--json'], env);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ id, requested: 'rollback' });
    await until(id!, (v) => v.status !== 'running');
    const status = await runCli(['migrate', 'status', BACK], env);
    expect(status.stdout).toContain(`Migration ${id} of ${BACK}: main → next: rolled back`);
    expect(status.stdout).toContain('roles: main primary');
    expect(status.stdout).toContain('waiting for: nothing (the migration is rolled back)');
    const after = await runCli(['migrate', 'rollback', id!], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('(409 ');
  });
});
