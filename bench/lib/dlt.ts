/**
 * dlt in the sync benchmark: a throwaway virtualenv (~/.cache/syncflow/dlt-venv, reused between runs) with
 * dlt, its postgres destination, its sql_database source and connectorx, and one Python process per pipeline
 * run of bench/dlt/bench_dlt.py (so each run's peak RSS is its own). Nothing here is part of SyncFlow.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VENV = path.join(homedir(), '.cache', 'syncflow', 'dlt-venv');
const SCRIPT = fileURLToPath(new URL('../dlt/bench_dlt.py', import.meta.url));
/**
 * What the brief asks (`dlt[postgres]` + connectorx), plus what dlt's sql_database source and its connectorx
 * backend import: SQLAlchemy (the `sql-database` extra) and pyarrow (connectorx hands over arrow tables).
 */
const PACKAGES = ['dlt[postgres,sql-database]', 'connectorx', 'pyarrow'];
const IMPORT_CHECK = 'import dlt, connectorx, sqlalchemy, pyarrow, psycopg2; print(dlt.__version__)';

export const DLT_CONFIGS = {
  /** dlt as installed: compressed (gzip) load files. */
  defaults: {},
  /** Load-file compression off, dlt's documented switch. */
  compressionOff: { DATA_WRITER__DISABLE_COMPRESSION: 'true' },
} as const;
export type DltConfigName = keyof typeof DLT_CONFIGS;
export type DltRunName = 'full' | 'rerun' | 'incremental' | 'incremental-unchanged';
export const DLT_LABELS: Record<DltConfigName | DltRunName, string> = {
  defaults: 'dlt defaults',
  compressionOff: 'dlt compression off',
  full: 'full',
  rerun: 'rerun, nothing changed',
  incremental: 'incremental, ~1% changed',
  'incremental-unchanged': 'incremental, nothing changed',
};

export interface DltRunResult {
  run: DltRunName;
  /** pipeline.run() alone. */
  wallMs: number;
  /** The whole Python process, interpreter start and imports included. */
  processWallMs: number;
  rowsLoaded: number;
  targetRows: number;
  targetIndexes: number;
  peakRssMb: number;
  backend: string;
  backendFallback: string | null;
  /** The load files of its items table: format, gzipped or not (the compression switch at work), size. */
  loadFiles: Array<{ table: string; format: string; gzipped: boolean | null; bytes: number }>;
  dltVersion: string;
  python: string;
}

interface Output {
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          // The command line holds the database URL: name the program and the run, then stderr's last lines.
          const how = error.killed ? 'timed out' : `exit code ${error.code}`;
          const tail = `${stderr}`.trim().split('\n').slice(-8).join('\n');
          const shown = args.filter((a) => a !== '--url' && !a.includes('://')).map((a) => path.basename(a));
          const what = [path.basename(file), ...shown.slice(0, 5)].join(' ');
          reject(new Error(`${what} failed (${how}): ${tail}`));
        } else {
          resolve({ stdout: `${stdout}`, stderr: `${stderr}` });
        }
      },
    );
  });
}

/** The venv's python with dlt importable, or why not (no python3, no venv module, pip failed). */
export async function prepareDlt(log: (m: string) => void): Promise<{ python: string } | { skipped: string }> {
  try {
    await run('python3', ['--version']);
  } catch {
    return { skipped: 'python3 is not on the PATH' };
  }
  const python = path.join(VENV, 'bin', 'python');
  try {
    if (!existsSync(python)) {
      log(`  dlt: creating the virtualenv ${VENV}`);
      await run('python3', ['-m', 'venv', VENV], { timeoutMs: 120_000 });
    }
    try {
      await run(python, ['-c', IMPORT_CHECK], { timeoutMs: 60_000 });
    } catch {
      log(`  dlt: pip install ${PACKAGES.join(' ')} into ${VENV}`);
      await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PACKAGES], {
        timeoutMs: 15 * 60_000,
      });
    }
    const { stdout } = await run(python, ['-c', IMPORT_CHECK], { timeoutMs: 60_000 });
    log(`  dlt ${stdout.trim()} ready (${VENV})`);
    return { python };
  } catch (error) {
    return { skipped: `the dlt virtualenv could not be prepared: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Runs of bench_dlt.py against one database; pipelines_dir and dlt's data dir in one temporary folder. */
export async function dltRunner(python: string, databaseUrl: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'syncflow-bench-dlt-'));
  let backend = 'auto';
  return {
    dir,
    async run(config: DltConfigName, name: DltRunName, initialRowVersion?: number): Promise<DltRunResult> {
      const args = [
        SCRIPT,
        '--url',
        databaseUrl,
        '--run',
        name,
        '--pipeline',
        `bench_${config}`,
        '--dataset',
        `dlt_${config.toLowerCase()}`,
        '--pipelines-dir',
        path.join(dir, 'pipelines'),
        '--backend',
        backend,
        ...(initialRowVersion !== undefined ? ['--initial-row-version', String(initialRowVersion)] : []),
      ];
      const started = performance.now();
      const { stdout } = await run(python, args, {
        cwd: dir, // no .dlt/ config folder of the caller's is picked up
        env: {
          ...process.env,
          ...DLT_CONFIGS[config],
          DLT_DATA_DIR: path.join(dir, 'data'),
          RUNTIME__DLTHUB_TELEMETRY: 'false', // no internet here, and not part of what is measured
          RUNTIME__LOG_LEVEL: 'WARNING',
        },
        timeoutMs: 30 * 60_000,
      });
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('DLT_RESULT '));
      if (!line) throw new Error(`bench_dlt.py printed no result:\n${stdout.slice(-2000)}`);
      const result = JSON.parse(line.slice('DLT_RESULT '.length)) as DltRunResult;
      // wallMs is pipeline.run() alone (as SyncFlow's is the sync alone, its worker already up); this adds
      // the Python process's start, imports and exit.
      result.processWallMs = Math.round(performance.now() - started);
      // The first run settles the backend (connectorx, or the default after connectorx failed); the rest keep it.
      backend = result.backend;
      return result;
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
