import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from '../infra/errors.ts';
import { userCacheDir } from '../infra/paths.ts';
import { run } from '../infra/process.ts';

/**
 * The Temporal time-skipping test server (the Java SDK's `temporal-test-server`, from Maven Central) that the
 * `workflows` test project runs the sync workflows on in simulated time. Found in this order:
 * TEMPORAL_TEST_SERVER_PATH → the wrapper cached in `~/.cache/syncflow/temporal-test-server/<version>/`
 * (`$XDG_CACHE_HOME` if set) → built once: a one-dependency pom.xml, `mvn dependency:build-classpath` (offline
 * from `~/.m2` when the jars are there, else from the registry Maven is configured with), and a wrapper script
 * `exec java -cp <classpath> io.temporal.testserver.TestServer "$@"` (the SDK passes the port and
 * `--enable-time-skipping`). Every clone and CI run on the machine reuses it. Needs Java ≥ 11 (17 is tested; the
 * start-up archive below needs ≥ 13) and Maven.
 *
 * The SDK gives the server 5 s to listen, which a cold JVM on a busy 2-core machine can miss (seen: 3-6 s).
 * So the build also records a class-data-sharing archive of the server's start-up (one training start,
 * `-XX:ArchiveClassesAtExit`) that the wrapper starts with (seen: about 1 s under the same load). The wrapper
 * names the `java -version` it was built with; another Java rebuilds it (offline, seconds).
 *
 * `npx tsx scripts/ensure-test-server.ts` prints the wrapper's path (CI runs it before the tests).
 */
export const TEST_SERVER_VERSION = '1.31.0';
/** Maven 3.8's default for the prefix `dependency:`; pinned so the build never asks the registry for a newer one. */
const DEPENDENCY_PLUGIN_VERSION = '2.8';
const MAIN_CLASS = 'io.temporal.testserver.TestServer';

export function testServerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userCacheDir(env), 'temporal-test-server', TEST_SERVER_VERSION);
}

export function cachedTestServerPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(testServerCacheDir(env), 'temporal-test-server');
}

export interface ResolvedTestServer {
  path: string;
  origin: 'TEMPORAL_TEST_SERVER_PATH' | 'cache' | 'maven';
}

const pom = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by SyncFlow's scripts/ensure-test-server.ts: resolves the Temporal time-skipping test server's classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>syncflow</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>${DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
`;

/** Whether a cached wrapper can run: written for this Java, and every jar (and archive) it names is there. */
function usable(wrapper: string, javaVersion: string): boolean {
  if (!existsSync(wrapper)) return false;
  const text = readFileSync(wrapper, 'utf8');
  const classpath = /-cp '([^']+)'/.exec(text)?.[1];
  const archive = /-XX:SharedArchiveFile='([^']+)'/.exec(text)?.[1];
  return (
    text.includes(`# java: ${javaVersion}\n`) &&
    !!classpath &&
    classpath.split(path.delimiter).every((jar) => existsSync(jar)) &&
    (!archive || existsSync(archive))
  );
}

async function javaVersion(env: NodeJS.ProcessEnv): Promise<string> {
  const version = await run('java', ['-version'], { env });
  return (version.stderr || version.stdout).split('\n')[0]!.trim();
}

async function requireTool(tool: string, env: NodeJS.ProcessEnv): Promise<void> {
  const found = await run('sh', ['-c', `command -v ${tool}`], { env });
  if (found.code !== 0) {
    throw new InfraError(
      `The workflow tests' time-skipping Temporal test server needs ${tool === 'java' ? 'Java (≥ 11; 17 is tested)' : 'Maven (mvn)'}, which is not on PATH.`,
      tool === 'java'
        ? 'Install a JDK or JRE 17 (Debian: apt-get install openjdk-17-jre-headless), or set TEMPORAL_TEST_SERVER_PATH to a test server binary.'
        : 'Install Maven (Debian: apt-get install maven), or set TEMPORAL_TEST_SERVER_PATH to a test server binary.',
    );
  }
}

export async function resolveTestServer(
  options: { env?: NodeJS.ProcessEnv; log?: (m: string) => void } = {},
): Promise<ResolvedTestServer> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  if (env.TEMPORAL_TEST_SERVER_PATH) {
    if (!existsSync(env.TEMPORAL_TEST_SERVER_PATH)) {
      throw new InfraError(
        `TEMPORAL_TEST_SERVER_PATH points at ${env.TEMPORAL_TEST_SERVER_PATH}, which does not exist.`,
        'Fix TEMPORAL_TEST_SERVER_PATH or unset it to let SyncFlow build the test server with Maven.',
      );
    }
    return { path: env.TEMPORAL_TEST_SERVER_PATH, origin: 'TEMPORAL_TEST_SERVER_PATH' };
  }
  await requireTool('java', env);
  const java = await javaVersion(env);
  const wrapper = cachedTestServerPath(env);
  if (usable(wrapper, java)) return { path: wrapper, origin: 'cache' };
  await requireTool('mvn', env);
  await buildWrapper(wrapper, java, env, log);
  return { path: wrapper, origin: 'maven' };
}

/** Resolves the classpath with Maven (offline first), then publishes the wrapper atomically. */
async function buildWrapper(
  wrapper: string,
  java: string,
  env: NodeJS.ProcessEnv,
  log: (m: string) => void,
): Promise<void> {
  const dir = path.dirname(wrapper);
  await fs.mkdir(dir, { recursive: true });
  const staging = await fs.mkdtemp(`${dir}/.partial-`);
  try {
    await fs.writeFile(path.join(staging, 'pom.xml'), pom);
    const goal = ['-q', '-B', 'dependency:build-classpath', '-Dmdep.outputFile=cp.txt', '-Dmdep.pathSeparator=:'];
    const mvn = (extra: string[]) => run('mvn', [...extra, ...goal], { cwd: staging, env });
    // Offline first: no registry round trip when ~/.m2 already holds the jars (a wiped cache folder, a second clone).
    let result = await mvn(['-o']);
    if (result.code !== 0) {
      log(
        `Resolving the Temporal test server ${TEST_SERVER_VERSION} with Maven (first time on this machine only; about 45 MB into ~/.m2)…`,
      );
      result = await mvn([]);
    }
    if (result.code !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join('\n  ');
      throw new InfraError(
        `mvn dependency:build-classpath of io.temporal:temporal-test-server:${TEST_SERVER_VERSION} failed:\n  ${tail}`,
        'Check that Maven can reach its registry (Maven Central or the mirror in ~/.m2/settings.xml), or set TEMPORAL_TEST_SERVER_PATH to a test server binary.',
      );
    }
    const classpath = (await fs.readFile(path.join(staging, 'cp.txt'), 'utf8')).trim();
    if (!classpath || classpath.includes("'")) {
      throw new InfraError(
        `Maven wrote an unusable classpath for the Temporal test server: ${JSON.stringify(classpath.slice(0, 200))}.`,
        `Remove ${dir} and ~/.m2/repository/io/temporal, then run npx tsx scripts/ensure-test-server.ts again.`,
      );
    }
    const archive = path.join(dir, 'test-server.jsa');
    const trained = await trainClassArchive(classpath, path.join(staging, 'test-server.jsa'), env);
    if (!trained) log('  (no class-data-sharing archive: the server starts without it, more slowly)');
    await fs.writeFile(
      path.join(staging, 'temporal-test-server'),
      [
        '#!/bin/sh',
        `# Temporal time-skipping test server ${TEST_SERVER_VERSION} (Java), written by SyncFlow's scripts/ensure-test-server.ts.`,
        `# java: ${java}`,
        `exec java ${trained ? `-XX:SharedArchiveFile='${archive}' -Xshare:auto ` : ''}-cp '${classpath}' ${MAIN_CLASS} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    // Atomic publish of each file, the wrapper last: a concurrent run never sees a half-written one.
    for (const file of ['pom.xml', 'cp.txt', ...(trained ? ['test-server.jsa'] : []), 'temporal-test-server']) {
      await fs.rename(path.join(staging, file), path.join(dir, file));
    }
    log(`  Temporal test server cached at ${wrapper}`);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/**
 * Starts the server once with `-XX:ArchiveClassesAtExit`, waits until it listens, stops it: the JVM writes the
 * classes its start-up loaded into `archive`. Answers whether the archive was written (best effort).
 */
async function trainClassArchive(classpath: string, archive: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const port = await freePort();
  const child = spawn(
    'java',
    [`-XX:ArchiveClassesAtExit=${archive}`, '-cp', classpath, MAIN_CLASS, String(port), '--enable-time-skipping'],
    { env, stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  try {
    const deadline = Date.now() + 60_000;
    while (!(await listening(port))) {
      if (Date.now() > deadline || child.exitCode !== null) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(killer);
  }
  return existsSync(archive);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const server = await resolveTestServer({ log: console.log });
    console.log(`Temporal test server: ${server.path} (${server.origin})`);
  } catch (error) {
    console.error(error instanceof InfraError ? error.describe() : error);
    process.exit(1);
  }
}
