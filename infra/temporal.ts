import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Env } from '../config/env.ts';
import { InfraError } from './errors.ts';
import { dataDir } from './paths.ts';
import { freePort, isPortFree } from './ports.ts';
import { isProcessAlive, processCommandLine, terminate } from './process.ts';
import { resolveTemporalCli } from './temporal-cli.ts';

/** A search attribute key, as @temporalio/common's defineSearchAttributeKey makes it. */
type SearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

/**
 * SyncFlow's Temporal: TEMPORAL_ADDRESS when set (a real cluster or Temporal
 * Cloud), otherwise a Temporal CLI dev server. `npm start` keeps the dev
 * server's histories in a SQLite file and serves the Web UI; tests and
 * benchmarks get an in-memory server on free ports.
 */
export interface TemporalServer {
  address: string;
  namespace: string;
  connectionOptions: ConnectionOptions;
  /** The Web UI, when SyncFlow runs the dev server with one. */
  uiUrl: string | undefined;
  embedded: boolean;
  stop(): Promise<void>;
}

export interface TemporalOptions {
  env: Pick<
    Env,
    | 'TEMPORAL_ADDRESS'
    | 'TEMPORAL_NAMESPACE'
    | 'TEMPORAL_TLS'
    | 'TEMPORAL_TLS_CERT_PATH'
    | 'TEMPORAL_TLS_KEY_PATH'
    | 'TEMPORAL_TLS_SERVER_NAME'
    | 'TEMPORAL_API_KEY'
    | 'TEMPORAL_DEV_PORT'
    | 'TEMPORAL_UI_PORT'
  >;
  /**
   * The search attributes the workflows set (workflows/search-attributes.ts' searchAttributeKeys), registered
   * on the server. Given by the caller: infra imports none of the layers.
   */
  searchAttributes: readonly SearchAttributeKey[];
  throwaway?: boolean;
  log?: (message: string) => void;
}

export async function startTemporal(options: TemporalOptions): Promise<TemporalServer> {
  const { env } = options;
  if (env.TEMPORAL_ADDRESS) {
    const connectionOptions = await externalConnectionOptions(options.env);
    await waitForFrontend(connectionOptions, env.TEMPORAL_NAMESPACE, 15_000).catch((error) => {
      throw new InfraError(
        `Cannot reach Temporal at ${env.TEMPORAL_ADDRESS} (namespace ${env.TEMPORAL_NAMESPACE}): ${(error as Error).message}`,
        'Check TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and the TLS / API key settings, or unset TEMPORAL_ADDRESS to run a local dev server.',
      );
    });
    await registerSearchAttributes(connectionOptions, env.TEMPORAL_NAMESPACE, options.searchAttributes, options.log);
    return {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      connectionOptions,
      uiUrl: undefined,
      embedded: false,
      stop: async () => {},
    };
  }
  return startDevServer(options);
}

async function externalConnectionOptions(env: TemporalOptions['env']): Promise<ConnectionOptions> {
  const useTls = env.TEMPORAL_TLS || !!env.TEMPORAL_API_KEY || !!env.TEMPORAL_TLS_CERT_PATH;
  const options: ConnectionOptions = { address: env.TEMPORAL_ADDRESS! };
  if (useTls) {
    options.tls = {
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      ...(env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH
        ? {
            clientCertPair: {
              crt: await fs.readFile(env.TEMPORAL_TLS_CERT_PATH),
              key: await fs.readFile(env.TEMPORAL_TLS_KEY_PATH),
            },
          }
        : {}),
    };
  }
  if (env.TEMPORAL_API_KEY) options.apiKey = env.TEMPORAL_API_KEY;
  return options;
}

/** Resolves once the frontend answers and the namespace exists. */
async function waitForFrontend(options: ConnectionOptions, namespace: string, timeoutMs: number, isDead = () => false) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !isDead()) {
    try {
      const connection = await Connection.connect({ ...options, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw lastError instanceof Error ? lastError : new Error('timed out');
}

/** Idempotent: already-registered attributes are fine; a cluster that forbids it (Cloud) gets a warning. */
async function registerSearchAttributes(
  options: ConnectionOptions,
  namespace: string,
  searchAttributeKeys: TemporalOptions['searchAttributes'],
  log?: (m: string) => void,
) {
  const connection = await Connection.connect(options);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = searchAttributeKeys.filter((key) => !(key.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, searchAttributeTypeToProto(key.type)])),
    });
  } catch (error) {
    log?.(
      `Warning: could not register the search attributes ${searchAttributeKeys.map((k) => k.name).join(', ')} (${(error as Error).message}). Register them in your cluster (e.g. Temporal Cloud's namespace settings) so syncs can be filtered.`,
    );
  } finally {
    await connection.close();
  }
}

function searchAttributeTypeToProto(type: string): number {
  // temporal.api.enums.v1.IndexedValueType
  const codes: Record<string, number> = {
    TEXT: 1,
    KEYWORD: 2,
    INT: 3,
    DOUBLE: 4,
    BOOL: 5,
    DATETIME: 6,
    KEYWORD_LIST: 7,
  };
  return codes[type] ?? 2;
}

function searchAttributeFlag(type: string): string {
  const names: Record<string, string> = {
    KEYWORD: 'Keyword',
    TEXT: 'Text',
    INT: 'Int',
    DOUBLE: 'Double',
    BOOL: 'Bool',
  };
  return names[type] ?? 'Keyword';
}

async function startDevServer(options: TemporalOptions): Promise<TemporalServer> {
  const log = options.log ?? (() => {});
  const { env } = options;
  const namespace = env.TEMPORAL_NAMESPACE;
  const cli = await resolveTemporalCli({ log });
  const port = options.throwaway ? await freePort() : env.TEMPORAL_DEV_PORT;
  const uiPort = options.throwaway ? undefined : env.TEMPORAL_UI_PORT;
  const stateDir = options.throwaway ? undefined : dataDir();
  if (!cli) return startSdkDownloadedServer(options, port, uiPort, stateDir);

  if (stateDir) {
    await fs.mkdir(stateDir, { recursive: true });
    await stopStaleDevServer(path.join(stateDir, 'temporal.pid'), log);
  }
  for (const [p, variable] of [
    [port, 'TEMPORAL_DEV_PORT'],
    [uiPort, 'TEMPORAL_UI_PORT'],
  ] as const) {
    if (p !== undefined && !(await isPortFree(p))) {
      throw new InfraError(
        `Port ${p}, needed by the Temporal dev server, is taken by another program.`,
        `Stop that program, set ${variable} to a free port, or set TEMPORAL_ADDRESS to use a running Temporal.`,
      );
    }
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...options.searchAttributes.flatMap((key) => [
      '--search-attribute',
      `${key.name}=${searchAttributeFlag(key.type)}`,
    ]),
    ...(stateDir
      ? ['--db-filename', path.join(stateDir, 'temporal.sqlite'), '--ui-port', String(uiPort)]
      : ['--headless']),
  ];
  const logFile = stateDir ? path.join(stateDir, 'temporal.log') : '/dev/null';
  const out = openSync(logFile, 'a');
  // Detached: Ctrl-C reaches SyncFlow only, which stops the worker before the server.
  const child = spawn(cli.path, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  if (stateDir) await fs.writeFile(path.join(stateDir, 'temporal.pid'), String(child.pid));

  const address = `127.0.0.1:${port}`;
  const connectionOptions: ConnectionOptions = { address };
  try {
    await waitForFrontend(connectionOptions, namespace, 90_000, () => exited);
  } catch (error) {
    if (child.pid) await terminate(child.pid, 'SIGKILL', 1000);
    const tail = stateDir
      ? (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n  ')
      : '';
    throw new InfraError(
      `The Temporal dev server (${cli.path}) did not come up: ${(error as Error).message}${tail ? `\n  ${tail}` : ''}`,
      stateDir
        ? `See ${logFile}. If its SQLite file is damaged, delete ${path.join(stateDir, 'temporal.sqlite')} (workflow histories are lost).`
        : 'Run the same command by hand to see its output.',
    );
  }
  return {
    address,
    namespace,
    connectionOptions,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    embedded: true,
    async stop() {
      if (child.pid) await terminate(child.pid, 'SIGTERM', 15_000);
      if (stateDir) await fs.rm(path.join(stateDir, 'temporal.pid'), { force: true });
    },
  };
}

/** A dev server left running by a killed `npm start` still holds the SQLite file and ports. */
async function stopStaleDevServer(pidFile: string, log: (m: string) => void) {
  const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => '0'));
  if (pid && isProcessAlive(pid) && processCommandLine(pid).includes('start-dev')) {
    log(`Stopping a Temporal dev server left running by an earlier start (pid ${pid})…`);
    await terminate(pid, 'SIGTERM', 15_000);
  }
  await fs.rm(pidFile, { force: true });
}

/** Last resort (online machines without Go): the SDK downloads and runs its own dev server. */
async function startSdkDownloadedServer(
  options: TemporalOptions,
  port: number,
  uiPort: number | undefined,
  stateDir: string | undefined,
): Promise<TemporalServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  options.log?.('No Temporal CLI and no Go toolchain found: trying the Temporal SDK’s own dev server download…');
  try {
    const testEnv = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'cached-download' },
        ip: '127.0.0.1',
        port,
        namespace: options.env.TEMPORAL_NAMESPACE,
        searchAttributes: [...options.searchAttributes],
        ...(uiPort ? { ui: true, uiPort } : {}),
        ...(stateDir ? { dbFilename: path.join(stateDir, 'temporal.sqlite') } : {}),
      },
    });
    return {
      address: `127.0.0.1:${port}`,
      namespace: options.env.TEMPORAL_NAMESPACE,
      connectionOptions: { address: `127.0.0.1:${port}` },
      uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
      embedded: true,
      stop: () => testEnv.teardown(),
    };
  } catch (error) {
    throw new InfraError(
      `No Temporal CLI was found (TEMPORAL_CLI_PATH, PATH, ${'the cache'}), Go is not installed to build one, and the SDK could not download a dev server (${(error as Error).message}).`,
      'Install Go (https://go.dev/dl, then start again: SyncFlow builds the CLI once), or install the Temporal CLI and set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to a running Temporal.',
      { cause: error },
    );
  }
}
