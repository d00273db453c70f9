/**
 * Opaque resumable cursors: base64url of a small JSON document. Callers store
 * and hand them back untouched; only the connector that made one reads it.
 * The version field lets a later release refuse (rather than misread) an old cursor.
 */
const VERSION = 1;

export function encodeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify({ v: VERSION, p: payload }), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; throws a plain Error on anything else (callers wrap it). */
export function decodeCursor<T = unknown>(cursor: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new Error('not a SyncFlow cursor (undecodable)');
  }
  if (!parsed || typeof parsed !== 'object' || (parsed as { v?: unknown }).v !== VERSION || !('p' in parsed)) {
    throw new Error('not a SyncFlow cursor (unknown version)');
  }
  return (parsed as { p: T }).p;
}
