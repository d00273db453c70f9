import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfraError } from './errors.ts';
import { dataDir } from './paths.ts';

/**
 * What a key looks like, given by the caller (connectors/secret-box.ts' parseSecretKey and newSecretKey):
 * infra imports none of the layers.
 */
export interface SecretKeyFormat {
  /** Throws, saying why, when `text` is not a valid key. */
  check(text: string): unknown;
  /** A new random key, as text. */
  generate(): string;
}

/**
 * The key that seals connections' inline secrets. SYNCFLOW_SECRET_KEY when set (production: keep it in
 * your secret manager, give the same key to every worker and API process). `npm start` on its embedded
 * defaults keeps one in `<data dir>/secret-key` (mode 0600), created on the first start, so the demo
 * works out of the box and a copy of the database alone opens nothing.
 */
export async function ensureSecretKey(
  format: SecretKeyFormat,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ key: string; file?: string }> {
  if (env.SYNCFLOW_SECRET_KEY) {
    try {
      format.check(env.SYNCFLOW_SECRET_KEY);
    } catch (error) {
      throw new InfraError((error as Error).message, 'Generate one with: openssl rand -base64 32');
    }
    return { key: env.SYNCFLOW_SECRET_KEY };
  }
  const file = path.join(dataDir(env), 'secret-key');
  const stored = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (stored !== null) {
    try {
      format.check(stored);
    } catch {
      throw new InfraError(
        `${file} does not hold a valid key.`,
        'Restore it from a backup (without it, stored inline secrets cannot be opened).',
      );
    }
    return { key: stored.trim(), file };
  }
  const key = format.generate();
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${key}\n`, { mode: 0o600 });
  await rename(temporary, file);
  return { key, file };
}
