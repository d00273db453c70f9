import type { MiddlewareHandler } from 'hono';

/** One contract request as the sandbox received it (before faults and auth). */
export interface SandboxRequest {
  /** Date.now() on arrival. */
  at: number;
  method: string;
  path: string;
}

/**
 * Every contract request a sandbox received, in order, with its arrival time: what tests measure a
 * client's request rate from (the last `limit` are kept, so a long demo run does not grow it without end).
 */
export class RequestLog {
  private entries: SandboxRequest[] = [];
  total = 0;

  constructor(private readonly limit = 100_000) {}

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      this.total += 1;
      this.entries.push({ at: Date.now(), method: c.req.method, path: c.req.path });
      if (this.entries.length > this.limit) this.entries = this.entries.slice(-Math.floor(this.limit / 2));
      await next();
    };
  }

  list(): SandboxRequest[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
