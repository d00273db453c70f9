import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConnectionSecretError,
  connectionConfigSchema,
  maskConnection,
  redactUrl,
  resolveConnection,
  sealConnection,
} from '../../../connectors/connections.ts';
import { pathUnderRoot } from '../../../connectors/factory.ts';
import { createSecretBox, SecretBoxError } from '../../../connectors/secret-box.ts';
import { relativeFilePath } from '../../../pipeline/connector-config.ts';

const box = createSecretBox(Buffer.alloc(32, 3).toString('base64'));
const otherBox = createSecretBox(Buffer.alloc(32, 4).toString('base64'));
const erp = connectionConfigSchema.parse({
  type: 'apismith',
  baseUrl: 'https://erp.example.com/api',
  auth: { username: { env: 'SYNCFLOW_SECRET_ERP_USER' }, password: { value: 'hunter2-very-secret' } },
});

describe('connection secrets', () => {
  it('are sealed at rest: the stored form never holds an inline value in clear', () => {
    const stored = sealConnection('erp', erp, undefined, box);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(stored.type === 'apismith' && stored.auth.username).toEqual({ env: 'SYNCFLOW_SECRET_ERP_USER' });
    const resolved = resolveConnection('erp', stored, box, { SYNCFLOW_SECRET_ERP_USER: 'reader' });
    expect(resolved).toMatchObject({ username: 'reader', password: 'hunter2-very-secret' });
  });

  it('are masked for display; "***" in an update keeps the stored value, a new value replaces it', () => {
    const stored = sealConnection('erp', erp, undefined, box);
    const shown = maskConnection(stored);
    expect(shown).toMatchObject({
      auth: { password: { value: '***' }, username: { env: 'SYNCFLOW_SECRET_ERP_USER' } },
    });
    // GET → PUT round trip: the masked form saved again keeps the secret.
    const again = sealConnection('erp', connectionConfigSchema.parse(shown), stored, box);
    expect(resolveConnection('erp', again, box, { SYNCFLOW_SECRET_ERP_USER: 'u' })).toMatchObject({
      password: 'hunter2-very-secret',
    });
    // "***" with nothing stored is an error naming the path, never the literal "***" as a password.
    expect(() => sealConnection('erp', connectionConfigSchema.parse(shown), undefined, box)).toThrow(/auth\.password/);
  });

  it('do not open under another key, in another connection, or after tampering', () => {
    const stored = sealConnection('erp', erp, undefined, box);
    const env = { SYNCFLOW_SECRET_ERP_USER: 'u' };
    expect(() => resolveConnection('erp', stored, otherBox, env)).toThrow(ConnectionSecretError);
    expect(() => resolveConnection('erp2', stored, box, env)).toThrow(ConnectionSecretError);
    const sealed = (stored as { auth: { password: { sealed: string } } }).auth.password.sealed;
    const flipped = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}${sealed.slice(-1)}`;
    const tampered = { ...stored, auth: { ...(stored as { auth: object }).auth, password: { sealed: flipped } } };
    expect(() => resolveConnection('erp', tampered as typeof stored, box, env)).toThrow(ConnectionSecretError);
  });

  it('refuse inline values when no key is configured', () => {
    expect(() => sealConnection('erp', erp, undefined, createSecretBox(undefined))).toThrow(SecretBoxError);
  });

  it('read only SYNCFLOW_SECRET_ variables, and say which one is unset', () => {
    const bad = connectionConfigSchema.safeParse({
      type: 'apismith',
      baseUrl: 'https://erp.example.com',
      auth: { username: { env: 'HOME' }, password: { env: 'AWS_SECRET_ACCESS_KEY' } },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['auth.username.env', 'auth.password.env']);
    const stored = sealConnection('erp', erp, undefined, box);
    expect(() => resolveConnection('erp', stored, box, {})).toThrow(/SYNCFLOW_SECRET_ERP_USER is not set/);
  });

  it('keep credentials out of URLs', () => {
    const withUser = connectionConfigSchema.safeParse({
      type: 'schedulehub',
      baseUrl: 'http://user:pass@planning.example.com',
      auth: { username: { value: 'u' }, password: { value: 'p' } },
    });
    expect(withUser.success).toBe(false);
    expect(withUser.error?.issues[0]?.path).toEqual(['baseUrl']);
    expect(redactUrl('postgresql://app:s3cret@db:5432/x')).toBe('postgresql://app:***@db:5432/x');
  });
});

describe('file paths', () => {
  it('must be relative, without . or .. segments', () => {
    for (const bad of ['/etc/shadow', '../../etc/shadow', 'a/../../b', 'a/./b', 'a//b', 'a\\b', 'a\0b']) {
      expect(relativeFilePath.safeParse(bad).success, bad).toBe(false);
    }
    expect(relativeFilePath.safeParse('drops/2026/items.csv').success).toBe(true);
  });

  it('cannot leave the connection folder, also through a symbolic link', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'sf-root-'));
    const root = path.join(base, 'root');
    await mkdir(path.join(root, 'in'), { recursive: true });
    await writeFile(path.join(base, 'secret.txt'), 'x');
    await writeFile(path.join(root, 'in', 'ok.csv'), 'a\n1\n');
    await symlink(base, path.join(root, 'escape'));
    expect(pathUnderRoot(root, 'in/ok.csv')).toBe(path.join(root, 'in', 'ok.csv'));
    expect(pathUnderRoot(root, 'in/missing.csv')).toBe(path.join(root, 'in', 'missing.csv'));
    expect(() => pathUnderRoot(root, 'escape/secret.txt')).toThrow(/leaves the connection's folder/);
    expect(() => pathUnderRoot(root, '../secret.txt')).toThrow(/leaves/);
  });
});
