import { randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { sign, verify } from 'hono/jwt';

/**
 * Token issuing and checking for a sandbox: signed JWTs (hono/jwt) with a
 * short, configurable lifetime so tests can watch a client renew mid-run.
 * `revokeAll()` invalidates every token issued so far (the 401-then-refresh case).
 */
export interface SandboxCredentials {
  username: string;
  password: string;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

export class TokenAuthority {
  private readonly secret = randomBytes(32).toString('hex');
  private generation = 0;
  issued = 0;
  refreshed = 0;
  rejected = 0;

  constructor(
    readonly credentials: SandboxCredentials,
    public ttlSeconds: number,
  ) {}

  revokeAll(): void {
    this.generation += 1;
  }

  checkPassword(username: string, password: string): boolean {
    return username === this.credentials.username && password === this.credentials.password;
  }

  async issue(subject: string): Promise<IssuedTokens> {
    this.issued += 1;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: subject, gen: this.generation, iat: now };
    return {
      access_token: await sign(
        { ...claims, typ: 'access', exp: now + this.ttlSeconds, jti: randomBytes(6).toString('hex') },
        this.secret,
      ),
      token_type: 'Bearer',
      expires_in: this.ttlSeconds,
      refresh_token: await sign(
        { ...claims, typ: 'refresh', exp: now + this.ttlSeconds * 10, jti: randomBytes(6).toString('hex') },
        this.secret,
      ),
    };
  }

  /** The subject of a valid token of the given type, or null (expired, revoked, forged). */
  async check(token: string, type: 'access' | 'refresh'): Promise<string | null> {
    try {
      const claims = await verify(token, this.secret, 'HS256');
      if (claims.typ !== type || claims.gen !== this.generation) return null;
      return String(claims.sub);
    } catch {
      return null;
    }
  }

  /** Middleware: a valid bearer access token or 401. */
  requireBearer(): MiddlewareHandler {
    return async (c, next) => {
      const header = c.req.header('authorization') ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!token || !(await this.check(token, 'access'))) {
        this.rejected += 1;
        return c.json({ error: { code: 'unauthorized', message: 'missing, expired or revoked token' } }, 401, {
          'www-authenticate': 'Bearer',
        });
      }
      await next();
    };
  }
}
