import type { Page, StreamProgress, StreamRequest } from './types.ts';

/**
 * Passes pages through, reporting progress after each, and stops early when
 * the caller's signal aborts. `heldAhead` tells how many rows the source has
 * read ahead of the page being handed out (its read buffer).
 */
export async function* pagesWithProgress(
  pages: AsyncIterable<Page>,
  request: Pick<StreamRequest, 'onProgress' | 'signal'>,
  heldAhead: () => number = () => 0,
): AsyncGenerator<Page> {
  const progress: StreamProgress = { pages: 0, rows: 0, rowsHeld: 0, peakRowsHeld: 0 };
  for await (const page of pages) {
    request.signal?.throwIfAborted();
    progress.pages += 1;
    progress.rows += page.rows.length;
    progress.rowsHeld = page.rows.length + heldAhead();
    progress.peakRowsHeld = Math.max(progress.peakRowsHeld, progress.rowsHeld);
    request.onProgress?.({ ...progress });
    yield page;
  }
}
