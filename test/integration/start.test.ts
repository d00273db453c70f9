import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/paths.ts';
import { freePort } from '../../infra/ports.ts';
import { isProcessAlive, processCommandLine } from '../../infra/process.ts';

/**
 * `npm start` as an operator meets it: its own data folder and ports, killed
 * with SIGKILL and started again, then stopped with SIGTERM leaving nothing.
 * Its worker is a child process of its own (the API's event loop never runs
 * pipeline stages) that follows its parent out, even a SIGKILLed one.
 */
describe('npm start: the embedded stack', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (c) => {
      output += c;
    });
    child.stderr!.on('data', (c) => {
      output += c;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 90_000);
      const check = () => {
        if (output.includes('SyncFlow is up.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', () => reject(new Error(`npm start exited early:\n${output}`)));
    });
    return { child, output: () => output };
  }

  const exitsWithin = async (pid: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!isProcessAlive(pid) || (await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).includes(') Z')) {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };

  const pidsOf = async (dir: string) => {
    const temporalPid = Number(await fs.readFile(path.join(dir, 'temporal.pid'), 'utf8').catch(() => '0'));
    const pgPid = Number(
      (await fs.readFile(path.join(dir, 'postgres', 'data', 'postmaster.pid'), 'utf8').catch(() => '0')).split('\n')[0],
    );
    return { temporalPid, pgPid };
  };

  const workerPidOf = (output: string) => Number(output.match(/Worker\s+pid (\d+)/)?.[1] ?? 0);
  const parentPidOf = async (pid: number) =>
    Number((await fs.readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')[1]);

  /** The identities (`<pid>@<host>`) of the processes polling the task queue for workflow tasks. */
  const pollerPids = async (temporalPort: string, taskQueue: string) => {
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue, kind: 1 },
        taskQueueType: 1, // workflow tasks
      });
      return (pollers ?? []).map((p) => Number(p.identity?.split('@')[0]));
    } finally {
      await connection.close();
    }
  };

  it('recovers after SIGKILL and shuts down cleanly on SIGTERM', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'syncflow-start-'));
    await fs.chmod(dataDir, 0o755);
    const env = {
      SYNCFLOW_DEMO: 'false', // the demo has its own test (test/integration/demo/run.test.ts)
      SYNCFLOW_LOG_LEVEL: 'info', // as a user runs it (the test run's default is error): its notices are asserted
      TEMPORAL_WORKER_METRICS_PORT: String(await freePort()),
      SYNCFLOW_DATA_DIR: dataDir,
      SYNCFLOW_PG_PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      PORT: String(await freePort()),
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_TASK_QUEUE: 'syncflow',
    };
    const first = await start(env);
    const health = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/health`);
    expect(health.status).toBe(200);
    const before = await pidsOf(dataDir);
    expect(isProcessAlive(before.temporalPid) && isProcessAlive(before.pgPid)).toBe(true);

    // The worker is npm start's child process, and the only one polling: the API's process polls nothing.
    const firstWorker = workerPidOf(first.output());
    expect(firstWorker).toBeGreaterThan(0);
    expect(firstWorker).not.toBe(first.child.pid);
    expect(await parentPidOf(firstWorker)).toBe(first.child.pid);
    expect(processCommandLine(firstWorker)).toContain('bin/worker.ts');
    let pollers: number[] = [];
    for (let i = 0; i < 50 && pollers.length === 0; i++) {
      pollers = await pollerPids(env.TEMPORAL_DEV_PORT, env.TEMPORAL_TASK_QUEUE);
      if (pollers.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pollers.length).toBeGreaterThan(0);
    expect(new Set(pollers)).toEqual(new Set([firstWorker]));

    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // The servers outlive a SIGKILLed parent; the next start must deal with them.
    expect(isProcessAlive(before.pgPid)).toBe(true);
    // The worker does not: its IPC channel closes, and it drains and exits on its own.
    expect(await exitsWithin(firstWorker, 10_000)).toBe(true);

    const second = await start(env);
    expect(second.output()).toContain('left running by an earlier start');
    const again = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/health`);
    expect(again.status).toBe(200);
    // The admin key survives restarts: the same key printed, kept in the data dir (0600), still accepted.
    const keyOf = (output: string) => output.match(/Admin API key\s+(sf_[0-9a-f]{8}_[A-Za-z0-9_-]{43})/)?.[1];
    const adminKey = keyOf(first.output());
    expect(adminKey).toBeDefined();
    expect(keyOf(second.output())).toBe(adminKey);
    const keyFile = path.join(dataDir, 'admin-api-key');
    expect((await fs.readFile(keyFile, 'utf8')).trim()).toBe(adminKey);
    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600);
    const entities = await fetch(`http://127.0.0.1:${env.PORT}/api/v1/entities`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(entities.status).toBe(200);
    const ui = await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`);
    expect(ui.status).toBe(200);
    const after = await pidsOf(dataDir);
    const secondWorker = workerPidOf(second.output());
    expect(isProcessAlive(secondWorker)).toBe(true);

    second.child.kill('SIGTERM');
    const code = await new Promise((r) => second.child.once('exit', r));
    expect(code).toBe(0);
    // npm start waited for its worker to drain and exit (it reaped it) before stopping Temporal.
    expect(isProcessAlive(secondWorker)).toBe(false);
    // Gone, not merely signalled (an orphan's exit is reaped by PID 1 a moment later).
    expect(await exitsWithin(after.temporalPid, 5_000)).toBe(true);
    expect(await exitsWithin(after.pgPid, 5_000)).toBe(true);
    await expect(fs.access(path.join(dataDir, 'postgres', 'data', 'postmaster.pid'))).rejects.toThrow();
    await expect(fs.access(path.join(dataDir, 'temporal.pid'))).rejects.toThrow();
  });
});
