import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';

/**
 * Fault injection, settable at start and at runtime (PUT /__sandbox/faults).
 * Rates are probabilities per request; the `...Next` counters make the next N
 * requests fail that way, which is what deterministic tests use.
 */
export const faultSettingsSchema = z
  .object({
    latencyMs: z.number().int().min(0).max(120_000).default(0),
    serverErrorRate: z.number().min(0).max(1).default(0),
    serverErrorNext: z.number().int().min(0).default(0),
    rateLimitRate: z.number().min(0).max(1).default(0),
    rateLimitNext: z.number().int().min(0).default(0),
    retryAfterSeconds: z.number().int().min(0).max(3600).default(1),
    dropRate: z.number().min(0).max(1).default(0),
    dropNext: z.number().int().min(0).default(0),
    /** 200 answers whose JSON body is cut short. */
    malformedNext: z.number().int().min(0).default(0),
    /** 200 answers sent as text/html. */
    wrongContentTypeNext: z.number().int().min(0).default(0),
    /**
     * ScheduleHub: the next N batch writes are applied, then answered 200 text/html (a proxy's page, say):
     * the client cannot tell what happened. Lookups are left alone, so the outcome can be read back.
     */
    unknownOutcomeNext: z.number().int().min(0).default(0),
    /** APISmith: the next execute answers hand back the cursor they were given. */
    repeatCursorNext: z.number().int().min(0).default(0),
    /** ScheduleHub: records with these bk_hashes are rejected as invalid. */
    rejectBkHashes: z.array(z.string()).default([]),
  })
  .strict();
export type FaultSettings = z.infer<typeof faultSettingsSchema>;
export type FaultInput = z.input<typeof faultSettingsSchema>;

export interface FaultCounters {
  delayed: number;
  serverErrors: number;
  rateLimited: number;
  dropped: number;
  malformed: number;
  wrongContentType: number;
  unknownOutcomes: number;
  repeatedCursors: number;
  rejected: number;
}

export class FaultInjector {
  settings: FaultSettings;
  readonly counters: FaultCounters = {
    delayed: 0,
    serverErrors: 0,
    rateLimited: 0,
    dropped: 0,
    malformed: 0,
    wrongContentType: 0,
    unknownOutcomes: 0,
    repeatedCursors: 0,
    rejected: 0,
  };

  constructor(
    initial: FaultInput = {},
    private readonly random: () => number = Math.random,
  ) {
    this.settings = faultSettingsSchema.parse(initial);
  }

  /** Replaces the settings (fields left out go back to "no fault"). */
  set(input: FaultInput): FaultSettings {
    this.settings = faultSettingsSchema.parse(input);
    return this.settings;
  }

  /** Consumes one of the next-N budget or rolls the rate. */
  private fires(
    next:
      | 'serverErrorNext'
      | 'rateLimitNext'
      | 'dropNext'
      | 'malformedNext'
      | 'wrongContentTypeNext'
      | 'unknownOutcomeNext'
      | 'repeatCursorNext',
    rate = 0,
  ): boolean {
    if (this.settings[next] > 0) {
      this.settings[next] -= 1;
      return true;
    }
    return rate > 0 && this.random() < rate;
  }

  takeRepeatCursor(): boolean {
    const fire = this.fires('repeatCursorNext');
    if (fire) this.counters.repeatedCursors += 1;
    return fire;
  }

  isRejected(bkHash: string): boolean {
    const rejected = this.settings.rejectBkHashes.includes(bkHash);
    if (rejected) this.counters.rejected += 1;
    return rejected;
  }

  /** The middleware for contract routes (not auth, health or admin). */
  middleware(): MiddlewareHandler<{ Bindings: HttpBindings }> {
    return async (c, next) => {
      const s = this.settings;
      if (s.latencyMs > 0) {
        this.counters.delayed += 1;
        await new Promise((resolve) => setTimeout(resolve, s.latencyMs));
      }
      if (this.fires('dropNext', s.dropRate)) {
        this.counters.dropped += 1;
        c.env.incoming.socket.destroy();
        return new Response(null, { status: 599 });
      }
      if (this.fires('rateLimitNext', s.rateLimitRate)) {
        this.counters.rateLimited += 1;
        return c.json({ error: { code: 'rate_limited', message: 'sandbox fault: too many requests' } }, 429, {
          'retry-after': String(s.retryAfterSeconds),
        });
      }
      if (this.fires('serverErrorNext', s.serverErrorRate)) {
        this.counters.serverErrors += 1;
        return c.json({ error: { code: 'unavailable', message: 'sandbox fault: injected server error' } }, 503);
      }
      await next();
      if (c.res.status !== 200) return;
      if (this.fires('malformedNext')) {
        this.counters.malformed += 1;
        const text = await c.res.text();
        c.res = new Response(text.slice(0, Math.max(1, Math.floor(text.length / 2))), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      } else if (this.fires('wrongContentTypeNext')) {
        this.counters.wrongContentType += 1;
        c.res = new Response('<html><body>sandbox fault: not JSON</body></html>', {
          status: 200,
          headers: { 'content-type': 'text/html' },
        });
      } else if (c.req.method === 'POST' && /\/batch\/(insert|update|delete)$/.test(c.req.path)) {
        if (this.fires('unknownOutcomeNext')) {
          this.counters.unknownOutcomes += 1;
          c.res = new Response(
            '<html><body>sandbox fault: the batch was applied, this answer says nothing</body></html>',
            {
              status: 200,
              headers: { 'content-type': 'text/html' },
            },
          );
        }
      }
    };
  }
}
