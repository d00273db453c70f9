/**
 * The benchmark's child processes: the ScheduleHub sandbox (bench/lib/schedulehub-child.ts, an HTTP target
 * in a process of its own, as a real one would be) and the peak RSS of a process by its pid.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A process's peak resident set (VmHWM) in MB, or null where /proc is not there. */
export function peakRssMbOf(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export interface SchedulehubChild {
  pid: number;
  url: string;
  credentials: { username: string; password: string };
  stop(): Promise<void>;
}

/** Starts the ScheduleHub sandbox over `databaseUrl` in a child Node process; resolves once it serves. */
export function startSchedulehubChild(databaseUrl: string): Promise<SchedulehubChild> {
  const child = fork(fileURLToPath(new URL('./schedulehub-child.ts', import.meta.url)), [], {
    execPath: process.execPath,
    execArgv: process.execArgv,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the ScheduleHub sandbox did not start within 60 s'));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ScheduleHub sandbox process ended before it served (${signal ?? `exit ${code}`})`));
    });
    child.on('message', (m: { url?: string; credentials?: { username: string; password: string } }) => {
      if (!m?.url || !m.credentials) return;
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        url: m.url,
        credentials: m.credentials,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.disconnect();
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}
