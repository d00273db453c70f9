import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKeyFile, ensureAdminKey } from '../../../bin/admin-key.ts';
import { createApiKey, revokeApiKey, verifyApiKey } from '../../../db/api-keys.ts';
import { type ApiTestContext, createApiTestContext } from './support.ts';

/** npm start's admin key: made once, kept in the data dir, used again until revoked or deleted. */
describe("npm start's admin key", () => {
  let t: ApiTestContext;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    t = await createApiTestContext('admin-key');
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncflow-admin-key-'));
    file = adminKeyFile({ SYNCFLOW_DATA_DIR: dir });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await t.close();
  });

  it('lives in the data dir', () => {
    expect(file).toBe(path.join(dir, 'admin-api-key'));
  });

  it('is created once as an admin key in a 0600 file, and the same key is used by every later start', async () => {
    const legacy = await createApiKey(t.prisma, 'npm-start', 'admin');
    const first = await ensureAdminKey(t.prisma, file);
    expect(first.created).toBe(true);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.key);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await verifyApiKey(t.prisma, first.key))?.role).toBe('admin');
    // The key earlier versions printed (and revoked at the next start) is revoked once, for good.
    expect(await verifyApiKey(t.prisma, legacy.key)).toBeNull();

    const second = await ensureAdminKey(t.prisma, file);
    expect(second).toEqual({ key: first.key, file, created: false });
    const third = await ensureAdminKey(t.prisma, file);
    expect(third.key).toBe(first.key);
    expect((await t.call('GET', '/entities', { key: first.key })).status).toBe(200);
  });

  it('is replaced when revoked, when the file is gone or holds something else', async () => {
    const before = (await readFile(file, 'utf8')).trim();
    await revokeApiKey(t.prisma, before.slice(3, 11));
    const afterRevoke = await ensureAdminKey(t.prisma, file);
    expect(afterRevoke.created).toBe(true);
    expect(afterRevoke.key).not.toBe(before);
    expect((await readFile(file, 'utf8')).trim()).toBe(afterRevoke.key);

    await rm(file);
    const afterDelete = await ensureAdminKey(t.prisma, file);
    expect(afterDelete.created).toBe(true);
    // Deleting the file does not revoke the key it held: that is the operator's call.
    expect(await verifyApiKey(t.prisma, afterRevoke.key)).not.toBeNull();

    await writeFile(file, 'garbage', { mode: 0o644 });
    const afterGarbage = await ensureAdminKey(t.prisma, file);
    expect(afterGarbage.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('is not reused when the file holds a key that is no longer admin', async () => {
    const viewer = await createApiKey(t.prisma, 'not-admin', 'viewer');
    await writeFile(file, `${viewer.key}\n`);
    const replaced = await ensureAdminKey(t.prisma, file);
    expect(replaced.created).toBe(true);
    expect(replaced.key).not.toBe(viewer.key);
  });
});
