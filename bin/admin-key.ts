import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createApiKey, verifyApiKey } from '../db/api-keys.ts';
import type { Prisma } from '../db/prisma.ts';
import { dataDir } from '../infra/paths.ts';

/** Where `npm start` keeps its admin key: `<SYNCFLOW_DATA_DIR or .syncflow>/admin-api-key`, mode 0600. */
export const adminKeyFile = (env: NodeJS.ProcessEnv = process.env) => path.join(dataDir(env), 'admin-api-key');

const KEY_NAME = 'npm-start-admin';
/** What earlier versions called the key they made (and revoked) on every start. */
const LEGACY_KEY_NAME = 'npm-start';

export interface AdminKey {
  key: string;
  file: string;
  /** false: the file's key still verified and is used again. */
  created: boolean;
}

/**
 * `npm start`'s admin key, created once and kept across restarts: the key in
 * `file` is used again while it verifies as an admin key; when it was revoked
 * (or demoted) or the file is gone, a new admin key replaces it and the file
 * is rewritten. Rotating is therefore: revoke it, delete the file or not, restart.
 */
export async function ensureAdminKey(prisma: Prisma, file: string): Promise<AdminKey> {
  const stored = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    },
  );
  if (stored !== '') {
    const key = await verifyApiKey(prisma, stored);
    if (key?.role === 'admin') {
      await chmod(file, 0o600);
      return { key: stored, file, created: false };
    }
  }
  const created = await createApiKey(prisma, KEY_NAME, 'admin');
  // Keys printed by earlier versions of npm start were revoked at the next start; the file's key replaces them.
  await prisma.apiKey.updateMany({
    where: { name: LEGACY_KEY_NAME, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${created.key}\n`, { mode: 0o600 });
  await rename(temporary, file);
  return { key: created.key, file, created: true };
}
