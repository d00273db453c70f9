import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Prisma } from './prisma.ts';

/**
 * API keys for the control API. A key reads `sf_<prefix>_<secret>`: the
 * prefix (8 hex chars) is stored in clear so operators can tell keys apart
 * and revoke one by it; the whole key is stored only as its SHA-256, so a
 * database dump never yields a usable key. The plaintext exists once, in
 * the answer of createApiKey.
 */
export interface ApiKeyView {
  uid: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The key itself: shown once, never stored. */
  key: string;
}

const KEY_PATTERN = /^sf_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;
/** last_used_at is a hint for operators, not an audit log: at most one write per key per minute. */
const LAST_USED_RESOLUTION_MS = 60_000;

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

const view = (row: ApiKeyView): ApiKeyView => ({
  uid: row.uid,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revokedAt: row.revokedAt,
});

export async function createApiKey(prisma: Prisma, name: string): Promise<CreatedApiKey> {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 100) throw new Error('An API key name must have 1 to 100 characters.');
  const prefix = randomBytes(4).toString('hex');
  const key = `sf_${prefix}_${randomBytes(32).toString('base64url')}`;
  const row = await prisma.apiKey.create({ data: { name: trimmed, prefix, keyHash: hashApiKey(key) } });
  return { ...view(row), key };
}

/**
 * The key named `name` for a process that must print one (npm start, the
 * demo): a fresh key every call, because a stored key cannot be read back;
 * older unrevoked keys of the same name are revoked so they do not pile up.
 */
export async function ensureKey(prisma: Prisma, name: string): Promise<CreatedApiKey> {
  await prisma.apiKey.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: new Date() } });
  return createApiKey(prisma, name);
}

/** The stored key a presented bearer token belongs to, or null (malformed, unknown or revoked). */
export async function verifyApiKey(prisma: Prisma, presented: string): Promise<ApiKeyView | null> {
  if (!KEY_PATTERN.test(presented)) return null;
  const hash = hashApiKey(presented);
  const row = await prisma.apiKey.findUnique({ where: { keyHash: hash } });
  // The lookup is by hash already; the constant-time compare keeps timing independent of how much matched.
  if (!row || !timingSafeEqual(Buffer.from(row.keyHash), Buffer.from(hash)) || row.revokedAt) return null;
  const now = new Date();
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await prisma.apiKey.update({ where: { uid: row.uid }, data: { lastUsedAt: now } });
    row.lastUsedAt = now;
  }
  return view(row);
}

/** Revokes by uid or by prefix; returns the keys revoked now (none when unknown or already revoked). */
export async function revokeApiKey(prisma: Prisma, prefixOrUid: string): Promise<ApiKeyView[]> {
  const isUid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(prefixOrUid);
  const where = isUid ? { uid: prefixOrUid } : { prefix: prefixOrUid };
  const targets = await prisma.apiKey.findMany({ where: { ...where, revokedAt: null } });
  if (targets.length === 0) return [];
  const revokedAt = new Date();
  await prisma.apiKey.updateMany({ where: { uid: { in: targets.map((k) => k.uid) } }, data: { revokedAt } });
  return targets.map((k) => view({ ...k, revokedAt }));
}

export async function listApiKeys(prisma: Prisma): Promise<ApiKeyView[]> {
  const rows = await prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
  return rows.map(view);
}
