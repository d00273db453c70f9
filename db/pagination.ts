/**
 * Pagination shared by the list queries (batches, dead letters, pending
 * children): newest first by (created_at, uid), either by page number or by
 * an opaque keyset cursor that stays stable while new rows arrive.
 */
export interface PageRequest {
  pageSize: number;
  page: number;
  /** When set, the page starts after this row and `page` is ignored. */
  after?: KeysetPosition | undefined;
}

export interface KeysetPosition {
  createdAt: Date;
  uid: string;
}

export interface PageResult<T> {
  rows: T[];
  total: number;
  nextCursor: string | null;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.uid])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** null when the text is not a cursor this module wrote. */
export function decodeCursor(text: string): KeysetPosition | null {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [at, uid] = value as [unknown, unknown];
    // A real UUID: the uid is compared with a uuid column, where any other text is a database error (a 500).
    if (typeof at !== 'string' || typeof uid !== 'string' || !UUID.test(uid)) return null;
    const createdAt = new Date(at);
    return Number.isNaN(createdAt.getTime()) ? null : { createdAt, uid };
  } catch {
    return null;
  }
}

/**
 * Prisma arguments for a page of `where` (newest first). A cursor page starts
 * right after its row by Prisma's cursor, which compares (created_at, uid)
 * with the row's stored values inside PostgreSQL: created_at has microseconds
 * and a JS Date only milliseconds, so comparing with the cursor's own
 * timestamp skipped every row sharing its millisecond (rows written by one
 * statement share created_at exactly). The cursor row itself is excluded by
 * uid rather than skipped, so a row that left the filter since (a resolved
 * dead letter) does not take another row's place.
 */
export function pageQuery<W extends object>(request: PageRequest, where: W) {
  const after = request.after;
  return {
    where: after ? { AND: [where, { uid: { not: after.uid } }] } : where,
    ...(after ? { cursor: { uid: after.uid } } : {}),
    orderBy: [{ createdAt: 'desc' as const }, { uid: 'desc' as const }],
    skip: after ? 0 : (request.page - 1) * request.pageSize,
    // One extra row tells whether a next page exists.
    take: request.pageSize + 1,
  };
}

export function toPage<T extends KeysetPosition>(rows: T[], total: number, pageSize: number): PageResult<T> {
  const hasMore = rows.length > pageSize;
  const kept = hasMore ? rows.slice(0, pageSize) : rows;
  const last = kept.at(-1);
  return { rows: kept, total, nextCursor: hasMore && last ? encodeCursor(last) : null };
}
