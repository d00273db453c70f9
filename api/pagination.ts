import { decodeCursor, type PageRequest, type PageResult } from '../db/pagination.ts';
import { ApiError } from './errors.ts';

/** The validated `page` / `pageSize` / `cursor` query → a page request; a cursor we did not write is a 400. */
export function pageRequest(query: { page: number; pageSize: number; cursor?: string | undefined }): PageRequest {
  if (query.cursor === undefined) return { page: query.page, pageSize: query.pageSize };
  const after = decodeCursor(query.cursor);
  if (!after) {
    throw new ApiError(400, 'validation_failed', 'The request is invalid.', [
      { field: 'cursor', message: 'not a cursor this API returned (use nextCursor of the previous page)' },
    ]);
  }
  return { page: query.page, pageSize: query.pageSize, after };
}

export function pagination(request: PageRequest, result: PageResult<unknown>) {
  return {
    page: request.after ? null : request.page,
    pageSize: request.pageSize,
    total: result.total,
    nextCursor: result.nextCursor,
  };
}
