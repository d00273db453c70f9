/**
 * A bearer token that renews itself: refreshed shortly before it expires (so
 * a long run never sends a dead token), and once more when the server still
 * answers 401 (clock skew, revoked token). Concurrent callers share one
 * in-flight refresh.
 */
export interface IssuedToken {
  accessToken: string;
  /** Lifetime in seconds as the server states it. */
  expiresIn: number;
  refreshToken?: string;
}

export interface TokenSessionOptions {
  /** Logs in with the configured credentials. */
  login: () => Promise<IssuedToken>;
  /** Exchanges a refresh token; when it fails the session logs in again. */
  refresh?: (refreshToken: string) => Promise<IssuedToken>;
  /** Renew this long before expiry (capped at half the token's lifetime). Default 30 s. */
  refreshSkewMs?: number;
  now?: () => number;
  onRenew?: (how: 'login' | 'refresh') => void;
}

interface Held {
  accessToken: string;
  refreshToken?: string;
  renewAt: number;
}

export class TokenSession {
  private held: Held | null = null;
  private pending: Promise<Held> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: TokenSessionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A token valid for at least the refresh skew. */
  async token(): Promise<string> {
    const held = this.held;
    if (held && this.now() < held.renewAt) return held.accessToken;
    return (await this.renew(held)).accessToken;
  }

  /** Called after a 401 with the token that was refused: the next `token()` renews (unless someone already did). */
  async renewAfterRejection(rejected: string): Promise<string> {
    const held = this.held;
    if (held && held.accessToken !== rejected) return held.accessToken;
    if (held) held.renewAt = 0;
    return (await this.renew(held)).accessToken;
  }

  private renew(previous: Held | null): Promise<Held> {
    if (this.pending) return this.pending;
    this.pending = this.obtain(previous).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async obtain(previous: Held | null): Promise<Held> {
    let issued: IssuedToken | null = null;
    if (previous?.refreshToken && this.options.refresh) {
      try {
        issued = await this.options.refresh(previous.refreshToken);
        this.options.onRenew?.('refresh');
      } catch {
        issued = null; // an expired or revoked refresh token: fall back to logging in
      }
    }
    if (!issued) {
      issued = await this.options.login();
      this.options.onRenew?.('login');
    }
    const lifetimeMs = issued.expiresIn * 1000;
    const skew = Math.min(this.options.refreshSkewMs ?? 30_000, lifetimeMs / 2);
    this.held = {
      accessToken: issued.accessToken,
      refreshToken: issued.refreshToken,
      renewAt: this.now() + lifetimeMs - skew,
    };
    return this.held;
  }
}
