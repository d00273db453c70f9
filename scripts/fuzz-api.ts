import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type App, createApp, OPENAPI_PATH } from '../api/app.ts';
import { listen } from '../api/serve.ts';
import { type ConnectionConfigInput, connectionConfigSchema } from '../connectors/connections.ts';
import { createSecretBox } from '../connectors/secret-box.ts';
import { createApiKey } from '../db/api-keys.ts';
import { saveConnection } from '../db/connections.ts';
import { createPrisma } from '../db/prisma.ts';
import { startInfrastructure } from '../infra/index.ts';
import { createWorker } from '../worker/create-worker.ts';
import { searchAttributeKeys } from '../workflows/search-attributes.ts';

/**
 * `npm run fuzz:api`: schemathesis over the control API's OpenAPI document, bounded and
 * reproducible, against a throwaway stack (embedded PostgreSQL, in-memory Temporal, the
 * API and a worker in this process). A little data gives the routes something to hit: two
 * live entities (a CSV file and a table), their connections, one finished sync of each (so
 * target tables, history, events and a DLQ record exist), whose names and batch ids the
 * fuzzer uses for half of its path, query and body parameters. Every 5xx fails
 * the run. After it, a few hand-written edge requests schemathesis does not generate
 * (bodies nested thousands of levels deep, cursors that decode but do not hold) go to the
 * same server. An operator / developer tool, not part of `npm test`; needs Python 3.
 *
 * Options (environment): FUZZ_MAX_EXAMPLES (default 100), FUZZ_SEED (default 20240610),
 * FUZZ_WORKERS (default 1).
 */

const SCHEMATHESIS_VERSION = '4.32.5';
const VENV = path.join(homedir(), '.cache', 'syncflow', 'schemathesis-venv');
const MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 100);
const SEED = Number(process.env.FUZZ_SEED ?? 20240610);
/**
 * One by default: with several, hypothesis's lambda descriptions run ast.parse on threads at once,
 * which CPython 3.11 answers with "SystemError: AST constructor recursion depth mismatch".
 */
const WORKERS = Number(process.env.FUZZ_WORKERS ?? 1);
const CHECKS = ['not_a_server_error'];
/** A server-sent event stream never ends: a request to it could only time out. */
const EXCLUDED = [{ method: 'GET', path: '/api/v1/events/stream' }];

const TASK_QUEUE = 'syncflow-fuzz';
const ENTITY = 'fuzz';
/** What the DELETE operations may remove, so the data the others use survives the run. */
const SPARE_ENTITY = 'fuzz_spare';
const FILES_CONNECTION = 'fuzz-files';
const PG_CONNECTION = 'fuzz-pg';
const SPARE_CONNECTION = 'fuzz-spare-conn';

const python = findPython();
if (!python) {
  console.log('fuzz:api needs Python 3 (python3 or python on PATH) for schemathesis; none found, nothing was run.');
  process.exit(0);
}
const schemathesis = ensureSchemathesis(python);

const started = Date.now();
console.log('Starting a throwaway PostgreSQL and Temporal…');
const infra = await startInfrastructure({
  throwaway: true,
  searchAttributes: searchAttributeKeys,
  log: (m) => console.log(`  ${m}`),
});
const cleanups: Array<() => Promise<unknown>> = [() => infra.stop()];
let exitCode = 1;
try {
  exitCode = await fuzz();
} catch (error) {
  console.error('fuzz:api failed:', error);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
process.exit(exitCode);

async function fuzz(): Promise<number> {
  const prisma = createPrisma(infra.database.url, { max: 8 });
  cleanups.push(() => prisma.$disconnect());
  const connection = await Connection.connect(infra.temporal.connectionOptions);
  cleanups.push(() => connection.close());
  const temporal = new Client({ connection, namespace: infra.temporal.namespace });
  const secrets = createSecretBox(randomBytes(32).toString('base64'));
  const app = createApp({
    prisma,
    temporal,
    taskQueue: TASK_QUEUE,
    secrets,
    progressQueryTimeoutMs: 300,
  });
  const { key } = await createApiKey(prisma, 'fuzz', 'admin');

  // Data: a folder with a CSV file, a table, connections to both, two entities and a started batch.
  const root = await realpath(await mkdtemp(path.join(tmpdir(), 'syncflow-fuzz-')));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  await writeFile(
    path.join(root, `${ENTITY}.csv`),
    'PART_NO,QTY,CREATED\na-1,3,2024-01-02\nb-2,5,2024-02-03\n,7,2024-03-04\n',
  );
  await prisma.$executeRawUnsafe(
    'CREATE TABLE public.fuzz_source ("PART_NO" text PRIMARY KEY, "QTY" integer, "CREATED" date)',
  );
  await prisma.$executeRawUnsafe("INSERT INTO public.fuzz_source VALUES ('c-3', 1, '2024-04-05')");
  const save = (name: string, config: ConnectionConfigInput) =>
    saveConnection(prisma, { name, config: connectionConfigSchema.parse(config) }, secrets);
  await save(FILES_CONNECTION, { type: 'files', root });
  await save(PG_CONNECTION, { type: 'postgres', url: { value: infra.database.url }, maxConnections: 4 });
  await save(SPARE_CONNECTION, { type: 'files', root });
  const fields = [
    { source: 'PART_NO', target: 'part_no', transformation: 'uppercase', required: true },
    { source: 'QTY', target: 'qty', type: 'NUMBER' },
    { source: 'CREATED', target: 'created', type: 'DATE' },
  ];
  const request = async (method: string, url: string, body?: unknown) => {
    const response = await app.request(`/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`setup: ${method} ${url} → ${response.status} ${text}`);
    return JSON.parse(text);
  };
  for (const [name, source] of [
    [ENTITY, { type: 'file', connection: FILES_CONNECTION, path: `${ENTITY}.csv`, format: 'csv' }],
    [SPARE_ENTITY, { type: 'postgres', connection: PG_CONNECTION, table: 'fuzz_source' }],
  ] as const) {
    await request('POST', '/entities', {
      name,
      source,
      targets: [{ type: 'postgres', name: 'main', connection: PG_CONNECTION, table: `${name}_target` }],
      businessKey: ['part_no'],
      fields,
    });
  }
  // One real sync of each (a worker in this process): target tables, history, events and a DLQ record to read.
  const worker = await createWorker({
    connectionOptions: infra.temporal.connectionOptions,
    namespace: infra.temporal.namespace,
    taskQueue: TASK_QUEUE,
    deps: { prisma, databaseUrl: infra.database.url, secrets },
  });
  const workerDone = worker.run();
  cleanups.push(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerDone;
  });
  for (const name of [ENTITY, SPARE_ENTITY]) await request('POST', `/entities/${name}/promote`);
  const { batches } = await request('POST', '/sync/start', { entities: [ENTITY, SPARE_ENTITY], syncType: 'full' });
  const batchUids: string[] = batches.map((b: { batchUid: string }) => b.batchUid);
  for (const uid of batchUids) {
    const deadline = Date.now() + 120_000;
    let status = 'running';
    while (['pending', 'running', 'paused'].includes(status) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await request('GET', `/sync/status/${uid}`)).status;
    }
    console.log(`  setup sync ${uid}: ${status}`);
  }

  // Counts every answer the fuzzer gets (the document's own fetch left out).
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  const counting = {
    fetch: async (req: Request, ...rest: unknown[]) => {
      const response = await (app.fetch as (r: Request, ...x: unknown[]) => Promise<Response>)(req, ...rest);
      const url = new URL(req.url);
      if (url.pathname !== OPENAPI_PATH) {
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500)
          serverErrors.push(`${req.method} ${url.pathname}${url.search} → ${response.status}`);
      }
      return response;
    },
  } as unknown as App;
  const server = await listen(counting, '127.0.0.1', 0);
  cleanups.push(() => server.close());

  const work = await mkdtemp(path.join(tmpdir(), 'syncflow-fuzz-run-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const config = path.join(work, 'schemathesis.toml');
  await writeFile(config, schemathesisConfig(batchUids));
  const reportDir = path.join(process.cwd(), '.syncflow', 'fuzz-api');
  await mkdir(reportDir, { recursive: true });
  const args = [
    '--config-file',
    config,
    'run',
    `${server.url}${OPENAPI_PATH}`,
    '--header',
    `Authorization: Bearer ${key}`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(SEED),
    '--workers',
    String(WORKERS),
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--suppress-health-check',
    'all',
    '--report',
    'junit',
    '--report-dir',
    reportDir,
    '--no-color',
    ...EXCLUDED.flatMap((e) => ['--exclude-path', e.path]),
  ];
  console.log(
    `\nschemathesis ${SCHEMATHESIS_VERSION}: ${path.basename(schemathesis)} ${args
      .map((a) => (a.startsWith('Authorization') ? 'Authorization: Bearer sf_…' : a))
      .join(' ')}\n`,
  );
  const fuzzStarted = Date.now();
  const code = await new Promise<number>((resolve) => {
    // Its cwd is the throwaway folder: schemathesis keeps a .schemathesis/ cache there.
    const child = spawn(schemathesis, args, { stdio: 'inherit', cwd: work });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  const seconds = (Date.now() - fuzzStarted) / 1000;
  const fuzzStatuses = new Map(statuses);

  const edges = edgeRequests();
  const edgeFailures: string[] = [];
  for (const edge of edges) {
    const response = await fetch(`${server.url}/api/v1${edge.path}`, {
      method: edge.method,
      headers: { authorization: `Bearer ${key}`, 'content-type': edge.contentType ?? 'application/json' },
      ...(edge.body === undefined ? {} : { body: edge.body }),
    });
    await response.arrayBuffer();
    if (response.status >= 500) edgeFailures.push(`${edge.method} ${edge.path} (${edge.what}) → ${response.status}`);
  }

  const operations = await countOperations(server.url);
  const requests = [...fuzzStatuses.values()].reduce((a, b) => a + b, 0);
  const fivexx = [...fuzzStatuses].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
  const byStatus = [...fuzzStatuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  console.log(`
fuzz:api summary (schemathesis ${SCHEMATHESIS_VERSION}, seed ${SEED}, max ${MAX_EXAMPLES} examples, checks ${CHECKS.join(',')})
  operations tested  ${operations} (of ${operations + EXCLUDED.length}; left out: ${EXCLUDED.map((e) => `${e.method} ${e.path}`).join(', ')})
  requests made      ${requests}  (${byStatus})
  5xx answers        ${fivexx}
  edge requests      ${edges.length}, ${edgeFailures.length} answered 5xx
  fuzzing took       ${seconds.toFixed(0)} s (whole run ${((Date.now() - started) / 1000).toFixed(0)} s)
  schemathesis exit  ${code} (JUnit report in ${path.relative(process.cwd(), reportDir)})`);
  if (edgeFailures.length > 0)
    console.log(`\nEdge requests answered 5xx:\n${edgeFailures.map((e) => `  ${e}`).join('\n')}`);
  if (serverErrors.length > 0) {
    console.log(`\n5xx answers:\n${[...new Set(serverErrors)].map((e) => `  ${e}`).join('\n')}`);
  }
  return fivexx > 0 || edgeFailures.length > 0 || code !== 0 ? 1 : 0;
}

/** Requests schemathesis does not make: each must get a 4xx (or a 2xx), never a 5xx. */
function edgeRequests() {
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const cursor = (uid: string) => Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', uid])).toString('base64url');
  const edges: Array<{ what: string; method: string; path: string; body?: string; contentType?: string }> = [];
  for (const depth of [100, 500, 6_000, 150_000]) {
    const what = `nested ${depth} levels`;
    edges.push(
      { what, method: 'POST', path: '/entities', body: `{"name":${deepObject(depth)}}` },
      { what, method: 'POST', path: '/entities', body: `{"name":${deepObject(depth)}}`, contentType: 'text/plain' },
      { what, method: 'PUT', path: `/entities/${ENTITY}`, body: `{"description":${deepObject(depth)}}` },
      { what, method: 'PATCH', path: `/entities/${ENTITY}`, body: `{"description":${deepObject(depth)}}` },
      { what, method: 'POST', path: `/entities/${ENTITY}/preview`, body: `{"rows":[{"PART_NO":${deepArray(depth)}}]}` },
      {
        what,
        method: 'PUT',
        path: `/connections/${SPARE_CONNECTION}`,
        body: `{"type":"files","root":${deepArray(depth)}}`,
      },
      { what, method: 'POST', path: '/sync/start', body: `{"entities":[${deepArray(depth)}]}` },
      { what, method: 'POST', path: '/sync/retry-failed', body: `{"entity":"${ENTITY}","stage":${deepObject(depth)}}` },
    );
  }
  for (const uid of ['-'.repeat(36), '0'.repeat(36), 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
    for (const path of ['/sync/history', '/monitoring/failed-records', '/monitoring/pending-children']) {
      edges.push({ what: 'a cursor whose uid is no UUID', method: 'GET', path: `${path}?cursor=${cursor(uid)}` });
    }
  }
  return edges;
}

/** Half of the names and batch ids the fuzzer sends are ones that exist; DELETE only ever removes the spares. */
function schemathesisConfig(batchUids: string[]): string {
  const names = [ENTITY, SPARE_ENTITY, FILES_CONNECTION, PG_CONNECTION].map((n) => JSON.stringify(n)).join(', ');
  return `[dictionaries.names]
values = [${names}]

[dictionaries.entities]
values = [${JSON.stringify(ENTITY)}, ${JSON.stringify(SPARE_ENTITY)}]

[dictionaries.batches]
values = [${batchUids.map((u) => JSON.stringify(u)).join(', ')}]

[dictionaries.spares]
values = [${JSON.stringify(SPARE_ENTITY)}, ${JSON.stringify(SPARE_CONNECTION)}]

[parameters]
"path.name" = { dictionary = "names", probability = 0.5 }
"path.batchUid" = { dictionary = "batches", probability = 0.5 }
"query.entity" = { dictionary = "entities", probability = 0.5 }
"query.batchUid" = { dictionary = "batches", probability = 0.5 }
"body.entity" = { dictionary = "entities", probability = 0.5 }
"body.entities[*]" = { dictionary = "entities", probability = 0.5 }

[[operations]]
include-method = "DELETE"

[operations.parameters]
"path.name" = { dictionary = "spares", probability = 0.5 }
`;
}

async function countOperations(url: string): Promise<number> {
  const doc = (await (await fetch(`${url}${OPENAPI_PATH}`)).json()) as { paths: Record<string, object> };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch']);
  return (
    Object.values(doc.paths).flatMap((ops) => Object.keys(ops).filter((m) => methods.has(m))).length - EXCLUDED.length
  );
}

function findPython(): string | null {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate;
  }
  return null;
}

/** The venv in ~/.cache/syncflow, made once and reused while it holds the pinned version. */
function ensureSchemathesis(pythonCommand: string): string {
  const bin = path.join(VENV, process.platform === 'win32' ? 'Scripts' : 'bin');
  const executable = path.join(bin, 'schemathesis');
  const version = existsSync(executable) ? spawnSync(executable, ['--version'], { encoding: 'utf8' }).stdout : '';
  if (version.includes(SCHEMATHESIS_VERSION)) return executable;
  console.log(`Installing schemathesis ${SCHEMATHESIS_VERSION} into ${VENV}…`);
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`fuzz:api: \`${command} ${args.join(' ')}\` failed (exit ${result.status}).`);
      process.exit(1);
    }
  };
  if (!existsSync(path.join(bin, 'pip'))) run(pythonCommand, ['-m', 'venv', VENV]);
  run(path.join(bin, 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  return executable;
}
