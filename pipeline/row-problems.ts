/** A source row (connectors/types.ts' Row). */
type Row = Record<string, unknown>;

/**
 * A row a reader could read but not trust (bytes that are not valid text,
 * for example) still travels as a row, so it reaches the DLQ the way every
 * bad row does: NORMALIZE turns each problem into a field error and the row
 * fails there. The problems ride on a symbol key, which no field mapping,
 * `Object.entries` or JSON (the DLQ's raw form) ever sees, and which object
 * spread still copies.
 */
export const ROW_PROBLEMS: unique symbol = Symbol.for('syncflow.rowProblems');

export interface RowProblem {
  /** The source column the problem is in; null when it cannot be told. */
  column: string | null;
  /** The DLQ error type, e.g. `invalid_encoding`. */
  code: string;
  message: string;
}

type MarkedRow = Row & { [ROW_PROBLEMS]?: RowProblem[] };

export function addRowProblem(row: Row, problem: RowProblem): void {
  const marked = row as MarkedRow;
  const problems = marked[ROW_PROBLEMS] ?? [];
  problems.push(problem);
  marked[ROW_PROBLEMS] = problems;
}

export function rowProblemsOf(row: Row): readonly RowProblem[] | undefined {
  return (row as MarkedRow)[ROW_PROBLEMS];
}
