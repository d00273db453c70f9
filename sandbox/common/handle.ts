import { randomBytes } from 'node:crypto';
import type { FaultInjector, FaultInput, FaultSettings } from './faults.ts';
import { sandboxBanner } from './label.ts';
import type { RequestLog, SandboxRequest } from './requests.ts';
import type { Served } from './serve.ts';
import { type SandboxCredentials, TokenAuthority } from './tokens.ts';

export interface SandboxStats {
  tokens: { issued: number; refreshed: number; rejected: number };
  faults: FaultInjector['counters'];
  /** Contract requests received (auth and admin routes not counted). */
  requests: number;
}

/** What every started sandbox hands back, whatever the system. */
export interface SandboxHandle {
  url: string;
  credentials: SandboxCredentials;
  setFaults(faults: FaultInput): FaultSettings;
  /** Invalidates every token issued so far (the next call gets 401 and must renew). */
  revokeTokens(): void;
  stats(): SandboxStats;
  /** The contract requests received, in order, with arrival times (clearRequests() starts over). */
  requests(): SandboxRequest[];
  clearRequests(): void;
  stop(): Promise<void>;
}

/** Credentials for this run: the given ones, or user `syncflow` with a fresh random password (no fixed secret anywhere). */
export function tokenAuthority(options: {
  credentials?: SandboxCredentials;
  tokenTtlSeconds?: number;
}): TokenAuthority {
  const credentials = options.credentials ?? { username: 'syncflow', password: randomBytes(12).toString('base64url') };
  return new TokenAuthority(credentials, options.tokenTtlSeconds ?? 300);
}

export function sandboxHandle(
  system: string,
  parts: {
    served: Served;
    authority: TokenAuthority;
    faults: FaultInjector;
    closeStore: () => Promise<void>;
    log?: (line: string) => void;
    requests?: RequestLog;
  },
): SandboxHandle {
  const { served, authority, faults } = parts;
  (parts.log ?? console.log)(sandboxBanner(system, served.url));
  return {
    url: served.url,
    credentials: authority.credentials,
    setFaults: (f) => faults.set(f),
    revokeTokens: () => authority.revokeAll(),
    stats: () => ({
      tokens: { issued: authority.issued, refreshed: authority.refreshed, rejected: authority.rejected },
      faults: { ...faults.counters },
      requests: parts.requests?.total ?? 0,
    }),
    requests: () => parts.requests?.list() ?? [],
    clearRequests: () => parts.requests?.clear(),
    async stop() {
      await served.close();
      await parts.closeStore();
    },
  };
}
