import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Prisma } from './prisma.ts';

/** What a key may do, least first; api/roles.ts says which routes each role reaches. */
export const apiKeyRoles = ['viewer', 'operator', 'admin'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];
export const isApiKeyRole = (value: string): value is ApiKeyRole => (apiKeyRoles as readonly string[]).includes(value);

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
  role: ApiKeyRole;
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

interface ApiKeyRow extends Omit<ApiKeyView, 'role'> {
  role: string;
}

/** A role the database holds but this version does not know (a newer release's) grants nothing beyond viewer. */
const view = (row: ApiKeyRow): ApiKeyView => ({
  uid: row.uid,
  name: row.name,
  prefix: row.prefix,
  role: isApiKeyRole(row.role) ? row.role : 'viewer',
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  revokedAt: row.revokedAt,
});

/** A new key with the given role (viewer unless said otherwise: the least a key can do). */
export async function createApiKey(prisma: Prisma, name: string, role: ApiKeyRole = 'viewer'): Promise<CreatedApiKey> {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > 100) throw new Error('An API key name must have 1 to 100 characters.');
  if (!isApiKeyRole(role)) throw new Error(`An API key role is one of ${apiKeyRoles.join(', ')}.`);
  const prefix = randomBytes(4).toString('hex');
  const key = `sf_${prefix}_${randomBytes(32).toString('base64url')}`;
  const row = await prisma.apiKey.create({ data: { name: trimmed, prefix, keyHash: hashApiKey(key), role } });
  return { ...view(row), key };
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

/** The key as it is now, or null when it is unknown or revoked (long-lived requests re-check theirs with it). */
export async function activeApiKey(prisma: Prisma, uid: string): Promise<ApiKeyView | null> {
  const row = await prisma.apiKey.findUnique({ where: { uid } });
  return row && !row.revokedAt ? view(row) : null;
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
