/**
 * Finds the rows that make a set-based statement fail without giving up the
 * rest: try the whole range; on a row-level error split it in two and try
 * each half, down to single rows. k bad rows in n cost about k·log2(n)
 * extra statements; a clean batch costs exactly one.
 *
 * `attempt(lo, hi)` must run the statement for positions lo..hi inclusive and
 * undo its own partial effect when it throws (a savepoint). Errors that are
 * not row-level (connection lost...) propagate unchanged.
 */
export async function bisectFailures(
  lo: number,
  hi: number,
  attempt: (lo: number, hi: number) => Promise<void>,
  isRowLevel: (error: unknown) => boolean,
): Promise<Map<number, unknown>> {
  const failures = new Map<number, unknown>();
  const run = async (from: number, to: number): Promise<void> => {
    if (from > to) return;
    try {
      await attempt(from, to);
    } catch (error) {
      if (!isRowLevel(error)) throw error;
      if (from === to) {
        failures.set(from, error);
        return;
      }
      const middle = Math.floor((from + to) / 2);
      await run(from, middle);
      await run(middle + 1, to);
    }
  };
  await run(lo, hi);
  return failures;
}
