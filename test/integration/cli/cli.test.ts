import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestContext, createApiTestContext, entityConfig, terminateAll } from '../api/support.ts';
import { runCli } from './cli-run.ts';

const NAME = 'cli_items';

/**
 * The CLI as an operator runs it: a child process against a live API over
 * HTTP. No worker serves this file's task queue, so a started sync stays
 * running (the --follow run to the end is in cli-follow.test.ts).
 */
describe('syncflow CLI against a live API', () => {
  let t: ApiTestContext;
  let dir: string;
  let env: Record<string, string>;
  let key: string;
  let batchUid: string;
  beforeAll(async () => {
    t = await createApiTestContext('cli');
    const { url } = await t.serve();
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncflow-cli-'));
    await terminateAll(t.temporal, [`sync-${NAME}`]);
    await t.prisma.syncBatch.deleteMany({ where: { entityName: NAME } });
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    env = { SYNCFLOW_URL: url, DATABASE_URL: t.databaseUrl };
  });
  afterAll(async () => {
    await terminateAll(t.temporal, [`sync-${NAME}`]);
    await t.prisma.syncBatch.deleteMany({ where: { entityName: NAME } });
    await t.prisma.entity.deleteMany({ where: { name: NAME } });
    await rm(dir, { recursive: true, force: true });
    await t.close();
  });

  it('keys create prints a key once, through the database', async () => {
    const result = await runCli(['keys', 'create', 'cli-test', '--role', 'admin'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Created admin API key "cli-test"');
    key = result.stdout.match(/sf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}/)![0];
    env.SYNCFLOW_API_KEY = key;
  });

  it('without a key the API refuses and the CLI says how to give one', async () => {
    const result = await runCli(['entities', 'list'], { ...env, SYNCFLOW_API_KEY: undefined });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('401 unauthorized');
    expect(result.stderr).toContain('SYNCFLOW_API_KEY');
  });

  it('connections apply / list / show / delete: a secret goes in and never comes out', async () => {
    const file = path.join(dir, 'connections.json');
    await writeFile(
      file,
      JSON.stringify([{ name: 'cli-orders-db', type: 'postgres', url: { value: 'postgresql://u:s3cret@h/db' } }]),
    );
    const applied = await runCli(['connections', 'apply', '-f', file], env);
    expect(applied.stdout).toContain('Saved cli-orders-db (postgres, version 1)');
    const list = await runCli(['connections', 'list'], env);
    expect(list.stdout).toMatch(/cli-orders-db\s+postgres\s+1/);
    const show = await runCli(['connections', 'show', 'cli-orders-db'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ config: { url: { value: '***' } } });
    expect(applied.stdout + list.stdout + show.stdout).not.toContain('s3cret');
    await writeFile(path.join(dir, 'gone.json'), JSON.stringify({ name: 'cli-gone', type: 'files', root: dir }));
    await runCli(['connections', 'apply', '-f', path.join(dir, 'gone.json')], env);
    const deleted = await runCli(['connections', 'delete', 'cli-gone'], env);
    expect(deleted.stdout).toContain('Deleted cli-gone.');
  });

  it('entities apply creates then updates from a JSON file; list, show and promote', async () => {
    const file = path.join(dir, 'items.json');
    const config = entityConfig(NAME, { source: { type: 'postgres', table: 'items', connection: 'cli-orders-db' } });
    await writeFile(file, JSON.stringify(config));
    const created = await runCli(['entities', 'apply', '-f', file], env);
    expect(created.stdout).toContain(`Created ${NAME} (dry_run, config version 1)`);
    const updated = await runCli(['entities', 'apply', '-f', file], env);
    expect(updated.stdout).toContain(`Updated ${NAME} (dry_run, config version 2)`);

    const list = await runCli(['entities', 'list', '--key', key], { ...env, SYNCFLOW_API_KEY: undefined });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${NAME}\\s+dry_run\\s+true\\s+postgres\\s+main \\(postgres\\)\\s+2`));
    const show = await runCli(['entities', 'show', NAME, '--json'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: NAME, config: { source: { connection: 'cli-orders-db' } } });
    const promoted = await runCli(['entities', 'promote', NAME], env);
    expect(promoted.stdout).toContain(`${NAME} is live.`);
  });

  it('entities show prints the configuration, then a row per target (none synced yet) and the last retry pass', async () => {
    const show = await runCli(['entities', 'show', NAME], env);
    expect(show.stderr).toBe('');
    const [config, targets] = show.stdout.split('\n\n');
    expect(JSON.parse(config!)).toMatchObject({ name: NAME });
    expect(targets!.split('\n')).toEqual([
      expect.stringMatching(/^TARGET\s+ROLE\s+SYNCED\s+PENDING\s+FAILED\s+ABANDONED\s+DLQ\s+LAST-RETRY$/),
      expect.stringMatching(/^main\s+primary\s+0\s+0\s+0\s+0\s+0\s+-$/),
      'Last retry pass: none',
      '',
    ]);
    const json = await runCli(['entities', 'show', NAME, '--json'], env);
    expect(JSON.parse(json.stdout).targetState).toEqual({
      targets: [
        {
          name: 'main',
          type: 'postgres',
          role: 'primary',
          synced: 0,
          pending: 0,
          failed: 0,
          deleted: 0,
          abandoned: 0,
          deadLetters: 0,
        },
      ],
      lastRetry: null,
    });
  });

  it('entities apply names every field at fault and exits non-zero', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...entityConfig('cli_bad'), pageSize: 1, businessKey: ['ghost'] }));
    const result = await runCli(['entities', 'apply', '-f', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('400 validation_failed');
    expect(result.stderr).toContain('- pageSize:');
    expect(result.stderr).toContain('- businessKey[0]:');
    const missing = await runCli(['entities', 'apply', '-f', path.join(dir, 'nope.json')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Cannot read');
  });

  it('sync start, a refused second start, status, history and stop', async () => {
    const started = await runCli(['sync', 'start', NAME, '--full', '--dry-run'], env);
    expect(started.stderr).toBe('');
    expect(started.stdout).toContain(`Started full dry run of ${NAME}`);
    batchUid = started.stdout.match(/batch ([0-9a-f-]{36})/)![1]!;

    const again = await runCli(['sync', 'start', NAME], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 sync_already_running');

    const status = await runCli(['sync', 'status', batchUid], env);
    expect(status.stdout).toContain(`${NAME}: batch ${batchUid} pending`);
    expect(status.stdout).toContain('fetched 0');

    const history = await runCli(['sync', 'history', '--entity', NAME], env);
    expect(history.stdout).toContain(batchUid);
    expect(history.stdout).toContain('1 of 1');

    const stopped = await runCli(['sync', 'stop', batchUid], env);
    expect(stopped.stdout).toContain(`No worker answered: batch ${batchUid} stops as soon as a worker runs it`);
    const unknown = await runCli(['sync', 'status', randomUUID()], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404 batch_not_found');
  });

  it('dlq list and replay', async () => {
    await t.prisma.failedRecord.create({
      data: {
        batchUid,
        entityName: NAME,
        idempotencyKey: `${NAME}-${randomUUID()}`,
        refStr: `${NAME}[part_no=P-1]`,
        stage: 'validate',
        errorType: 'required',
        errorMessage: 'part_no is required',
      },
    });
    const list = await runCli(['dlq', 'list', '--entity', NAME], env);
    expect(list.stdout).toContain(`${NAME}[part_no=P-1]`);
    expect(list.stdout).toContain('1 of 1 unresolved');
    const unfiltered = await runCli(['dlq', 'replay', NAME], env);
    expect(unfiltered.code).toBe(1);
    expect(unfiltered.stderr).toContain('all');
    // The sync the stop test left waiting for a worker (none serves this file) still holds the entity.
    const refused = await runCli(['dlq', 'replay', NAME, '--stage', 'validate'], env);
    expect(refused.stderr).toContain('409 sync_already_running');
    await terminateAll(t.temporal, [`sync-${NAME}`]);
    const replay = await runCli(['dlq', 'replay', NAME, '--stage', 'validate'], env);
    expect(replay.stderr).toBe('');
    expect(replay.stdout).toMatch(
      new RegExp(`Started replay of ${NAME}'s dead letters: batch [0-9a-f-]{36} \\(workflow replay-${NAME}\\)`),
    );
    // No worker serves this file's queue: the replay would wait forever.
    await t.temporal.workflow.getHandle(`replay-${NAME}`).terminate('test over');
  });

  it('keys create defaults to viewer, refuses an unknown role; keys list shows roles; a viewer is refused a start', async () => {
    const viewer = await runCli(['keys', 'create', 'cli-viewer'], env);
    expect(viewer.stdout).toContain('Created viewer API key "cli-viewer"');
    const viewerKey = viewer.stdout.match(/sf_[0-9a-f]{8}_[A-Za-z0-9_-]{43}/)![0];
    const bad = await runCli(['keys', 'create', 'cli-bad', '--role', 'root'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('viewer, operator, admin');
    const list = await runCli(['keys', 'list'], env);
    expect(list.stdout).toMatch(/ROLE/);
    expect(list.stdout).toMatch(new RegExp(`${key.slice(3, 11)}\\s+cli-test\\s+admin`));
    expect(list.stdout).toMatch(new RegExp(`${viewerKey.slice(3, 11)}\\s+cli-viewer\\s+viewer`));
    const refused = await runCli(['sync', 'start', NAME], { ...env, SYNCFLOW_API_KEY: viewerKey });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('403 forbidden');
    expect(refused.stderr).toContain('--role');
    await runCli(['keys', 'revoke', viewerKey.slice(3, 11)], env);
  });

  it('keys revoke by prefix: the key stops working', async () => {
    const prefix = key.slice(3, 11);
    const revoked = await runCli(['keys', 'revoke', prefix], env);
    expect(revoked.stdout).toContain(`prefix ${prefix}`);
    const refused = await runCli(['entities', 'list'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
    const again = await runCli(['keys', 'revoke', prefix], env);
    expect(again.code).toBe(1);
  });

  it('names an unreachable API and exits non-zero', async () => {
    const result = await runCli(['entities', 'list', '--url', 'http://127.0.0.1:9'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Cannot reach the SyncFlow API at http://127.0.0.1:9');
  });
});
