import { randomBytes } from 'node:crypto';
import { composeSandbox } from '../common/compose.ts';
import { FaultInjector, type FaultInput, type FaultSettings } from '../common/faults.ts';
import { sandboxBanner } from '../common/label.ts';
import { serveOnPort } from '../common/serve.ts';
import { type SandboxCredentials, TokenAuthority } from '../common/tokens.ts';
import { ErpStore } from './erp-store.ts';
import { apismithRoutes } from './routes.ts';

export interface ApismithSandboxOptions {
  databaseUrl: string;
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  faults?: FaultInput;
  /** Access token lifetime (default 300 s); a few seconds exercises refresh. */
  tokenTtlSeconds?: number;
  /** Default: user `syncflow` with a random password made for this run. */
  credentials?: SandboxCredentials;
  /** Where the ERP tables live (default sandbox_erp) and the API catalogue (default sandbox_apismith). */
  erpSchema?: string;
  catalogSchema?: string;
  log?: (line: string) => void;
}

export interface ApismithSandbox {
  url: string;
  credentials: SandboxCredentials;
  /** Seed and change the ERP: create tables, insert/update/delete rows, register APIs. */
  erp: ErpStore;
  setFaults(faults: FaultInput): FaultSettings;
  /** Invalidates every token issued so far (the next call gets 401 and must renew). */
  revokeTokens(): void;
  stats(): { tokens: { issued: number; refreshed: number; rejected: number }; faults: FaultInjector['counters'] };
  stop(): Promise<void>;
}

export const APISMITH_SANDBOX_DESCRIPTION =
  "The APISmith connector API as SyncFlow uses it: token auth, the catalogue of connectors and APIs, and paged execution of an API. Served by SyncFlow's APISmith SANDBOX for tests and the demo; a real APISmith deployment is checked against this document.";

export function createApismithApp(erp: ErpStore, authority: TokenAuthority, faults: FaultInjector) {
  return composeSandbox({
    title: 'APISmith (SyncFlow contract)',
    description: APISMITH_SANDBOX_DESCRIPTION,
    authority,
    faults,
    contract: apismithRoutes(erp, faults),
  });
}

/** Starts the APISmith sandbox over PostgreSQL. */
export async function startApismithSandbox(options: ApismithSandboxOptions): Promise<ApismithSandbox> {
  const erp = new ErpStore(options.databaseUrl, options.erpSchema, options.catalogSchema);
  await erp.init();
  const credentials = options.credentials ?? { username: 'syncflow', password: randomBytes(12).toString('base64url') };
  const authority = new TokenAuthority(credentials, options.tokenTtlSeconds ?? 300);
  const faults = new FaultInjector(options.faults);
  const app = createApismithApp(erp, authority, faults);
  const served = await serveOnPort(app.fetch, options.port);
  (options.log ?? console.log)(sandboxBanner('APISmith', served.url));
  return {
    url: served.url,
    credentials,
    erp,
    setFaults: (f) => faults.set(f),
    revokeTokens: () => authority.revokeAll(),
    stats: () => ({
      tokens: { issued: authority.issued, refreshed: authority.refreshed, rejected: authority.rejected },
      faults: { ...faults.counters },
    }),
    async stop() {
      await served.close();
      await erp.close();
    },
  };
}
