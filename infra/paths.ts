import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in <root>/infra). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm start` keeps its state: git-ignored, persists across runs. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SYNCFLOW_DATA_DIR ?? path.join(repoRoot, '.syncflow'));
}

/** The user's cache directory, shared by every clone on the machine. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'syncflow');
}
