import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { InfraError } from './errors.ts';
import { userCacheDir } from './paths.ts';
import { run } from './process.ts';

/**
 * Finding a `temporal` CLI to run the dev server with, in this order:
 * TEMPORAL_CLI_PATH → `temporal` on PATH → the build cached in the user's
 * cache folder → `go install` of the pinned tag (cached for every clone on the
 * machine) → null, meaning "let the SDK download its own, if online".
 *
 * v1.5.1 is pinned because later tags carry a `replace` directive that
 * `go install pkg@version` refuses (see shared/notes/offline-toolchain.md).
 */
export const PINNED_CLI_VERSION = 'v1.5.1';
const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userCacheDir(env), 'temporal-cli', PINNED_CLI_VERSION, 'temporal');
}

export interface ResolvedCli {
  path: string;
  origin: 'TEMPORAL_CLI_PATH' | 'PATH' | 'cache' | 'go install';
}

export async function resolveTemporalCli(
  options: { env?: NodeJS.ProcessEnv; log?: (m: string) => void; allowBuild?: boolean } = {},
): Promise<ResolvedCli | null> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  if (env.TEMPORAL_CLI_PATH) {
    if (!existsSync(env.TEMPORAL_CLI_PATH)) {
      throw new InfraError(
        `TEMPORAL_CLI_PATH points at ${env.TEMPORAL_CLI_PATH}, which does not exist.`,
        'Fix TEMPORAL_CLI_PATH or unset it to let SyncFlow find or build the CLI.',
      );
    }
    return { path: env.TEMPORAL_CLI_PATH, origin: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = await run('sh', ['-c', 'command -v temporal'], { env });
  if (onPath.code === 0 && onPath.stdout.trim()) return { path: onPath.stdout.trim(), origin: 'PATH' };
  const cached = cachedCliPath(env);
  if (existsSync(cached)) return { path: cached, origin: 'cache' };
  if (options.allowBuild === false) return null;
  const go = await run('sh', ['-c', 'command -v go'], { env });
  if (go.code !== 0) return null;
  await goInstall(cached, env, log);
  return { path: cached, origin: 'go install' };
}

/** Builds the pinned CLI with `go install`, printing each module and package as it goes. */
async function goInstall(target: string, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<void> {
  const dir = path.dirname(target);
  const staging = `${dir}.partial-${process.pid}`;
  await fs.mkdir(staging, { recursive: true });
  log(
    `Building the Temporal CLI ${PINNED_CLI_VERSION} with go install (first time on this machine only; a few minutes)…`,
  );
  const child = spawn('go', ['install', '-v', `${CLI_MODULE}@${PINNED_CLI_VERSION}`], {
    env: { ...env, GOBIN: staging, GOFLAGS: `${env.GOFLAGS ?? ''} -mod=mod`.trim() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let downloaded = 0;
  let compiled = 0;
  const tail: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (line.startsWith('go: downloading')) downloaded++;
    else compiled++;
    if ((downloaded + compiled) % 50 === 0)
      log(`  go install: ${downloaded} modules downloaded, ${compiled} packages built…`);
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) {
    await fs.rm(staging, { recursive: true, force: true });
    throw new InfraError(
      `go install ${CLI_MODULE}@${PINNED_CLI_VERSION} failed:\n  ${tail.slice(-6).join('\n  ')}`,
      'Check that the Go module proxy is reachable (GOPROXY), or install the Temporal CLI yourself and set TEMPORAL_CLI_PATH.',
    );
  }
  // Atomic publish: a concurrent start never sees a half-written binary.
  await fs.mkdir(dir, { recursive: true });
  await fs.rename(path.join(staging, 'temporal'), target);
  await fs.rm(staging, { recursive: true, force: true });
  log(`  Temporal CLI cached at ${target}`);
}
