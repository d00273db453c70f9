import { composeSandbox } from '../common/compose.ts';
import { FaultInjector, type FaultInput } from '../common/faults.ts';
import { type SandboxHandle, sandboxHandle, tokenAuthority } from '../common/handle.ts';
import { RequestLog } from '../common/requests.ts';
import { serveOnPort } from '../common/serve.ts';
import type { SandboxCredentials, TokenAuthority } from '../common/tokens.ts';
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

export interface ApismithSandbox extends SandboxHandle {
  /** Seed and change the ERP: create tables, insert/update/delete rows, register APIs. */
  erp: ErpStore;
}

export const APISMITH_SANDBOX_DESCRIPTION =
  "The APISmith connector API as SyncFlow uses it: token auth, the catalogue of connectors and APIs, and paged execution of an API. Served by SyncFlow's APISmith SANDBOX for tests and the demo; a real APISmith deployment is checked against this document.";

export function createApismithApp(
  erp: ErpStore,
  authority: TokenAuthority,
  faults: FaultInjector,
  requests?: RequestLog,
) {
  return composeSandbox({
    title: 'APISmith (SyncFlow contract)',
    description: APISMITH_SANDBOX_DESCRIPTION,
    authority,
    faults,
    contract: apismithRoutes(erp, faults),
    requests,
  });
}

/** Starts the APISmith sandbox over PostgreSQL. */
export async function startApismithSandbox(options: ApismithSandboxOptions): Promise<ApismithSandbox> {
  const erp = new ErpStore(options.databaseUrl, options.erpSchema, options.catalogSchema);
  await erp.init();
  const authority = tokenAuthority(options);
  const faults = new FaultInjector(options.faults);
  const requests = new RequestLog();
  const served = await serveOnPort(createApismithApp(erp, authority, faults, requests).fetch, options.port);
  return {
    ...sandboxHandle('APISmith', {
      served,
      authority,
      faults,
      closeStore: () => erp.close(),
      log: options.log,
      requests,
    }),
    erp,
  };
}
