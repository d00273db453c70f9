/**
 * Recognises "a dependency is down" among thrown errors, so routes answer 503
 * naming the database or Temporal instead of a 500: Prisma's connection
 * error codes, and gRPC UNAVAILABLE / DEADLINE_EXCEEDED from the Temporal client.
 */
export interface DependencyDown {
  dependency: 'database' | 'temporal';
  code: 'database_unavailable' | 'temporal_unavailable';
  message: string;
  /** For the server log only: the underlying error's message. */
  detail: string;
}

// P1001 unreachable, P1002 timed out, P1008 operation timed out, P1017 connection closed, P2024 pool timeout.
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

function chain(error: unknown): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  let current: unknown = error;
  while (current && typeof current === 'object' && seen.length < 5 && !seen.includes(current as never)) {
    seen.push(current as Record<string, unknown>);
    current = (current as { cause?: unknown }).cause;
  }
  return seen;
}

export function dependencyDown(error: unknown): DependencyDown | null {
  const links = chain(error);
  const detail = error instanceof Error ? error.message.split('\n').filter(Boolean).at(-1)! : String(error);
  for (const link of links) {
    const name = String(link.name ?? link.constructor?.name ?? '');
    if (
      (typeof link.code === 'string' && PRISMA_UNAVAILABLE.has(link.code) && name.startsWith('PrismaClient')) ||
      name === 'PrismaClientInitializationError' ||
      link.kind === 'DatabaseNotReachable'
    ) {
      return {
        dependency: 'database',
        code: 'database_unavailable',
        message: 'The database is unavailable; try again when it is back.',
        detail,
      };
    }
    if (link.code === GRPC_UNAVAILABLE || link.code === GRPC_DEADLINE_EXCEEDED) {
      return {
        dependency: 'temporal',
        code: 'temporal_unavailable',
        message: 'Temporal is unavailable; try again when it is back.',
        detail,
      };
    }
  }
  return null;
}
