import { randomBytes } from 'node:crypto';
import { composeSandbox } from '../common/compose.ts';
import { FaultInjector, type FaultInput, type FaultSettings } from '../common/faults.ts';
import { sandboxBanner } from '../common/label.ts';
import { serveOnPort } from '../common/serve.ts';
import { type SandboxCredentials, TokenAuthority } from '../common/tokens.ts';
import { schedulehubRoutes } from './routes.ts';
import { PlanningStore } from './store.ts';
import type { ResourceRules } from './validation.ts';

export interface SchedulehubSandboxOptions {
  databaseUrl: string;
  port?: number;
  faults?: FaultInput;
  tokenTtlSeconds?: number;
  credentials?: SandboxCredentials;
  /** Where the records live (default sandbox_schedulehub). */
  schema?: string;
  /** Validation per resource, e.g. `{ items: { required: ['item_number'] } }`; other resources accept any record. */
  resources?: Record<string, ResourceRules>;
  log?: (line: string) => void;
}

export interface SchedulehubSandbox {
  url: string;
  credentials: SandboxCredentials;
  /** Direct access to the stored records (assertions, the demo's report). */
  store: PlanningStore;
  setFaults(faults: FaultInput): FaultSettings;
  setResourceRules(resource: string, rules: ResourceRules): void;
  revokeTokens(): void;
  stats(): { tokens: { issued: number; refreshed: number; rejected: number }; faults: FaultInjector['counters'] };
  stop(): Promise<void>;
}

export const SCHEDULEHUB_SANDBOX_DESCRIPTION =
  "The ScheduleHub planning API as SyncFlow uses it: token auth, records per resource keyed by bk_hash, single and batch insert / update / delete with one outcome per record. Served by SyncFlow's ScheduleHub SANDBOX for tests and the demo; a real ScheduleHub deployment is checked against this document.";

export function createSchedulehubApp(
  store: PlanningStore,
  authority: TokenAuthority,
  faults: FaultInjector,
  rules: Map<string, ResourceRules>,
) {
  return composeSandbox({
    title: 'ScheduleHub (SyncFlow contract)',
    description: SCHEDULEHUB_SANDBOX_DESCRIPTION,
    authority,
    faults,
    contract: schedulehubRoutes(store, faults, rules),
  });
}

/** Starts the ScheduleHub sandbox over PostgreSQL. */
export async function startSchedulehubSandbox(options: SchedulehubSandboxOptions): Promise<SchedulehubSandbox> {
  const store = new PlanningStore(options.databaseUrl, options.schema);
  await store.init();
  const rules = new Map(Object.entries(options.resources ?? {}));
  const credentials = options.credentials ?? { username: 'syncflow', password: randomBytes(12).toString('base64url') };
  const authority = new TokenAuthority(credentials, options.tokenTtlSeconds ?? 300);
  const faults = new FaultInjector(options.faults);
  const served = await serveOnPort(createSchedulehubApp(store, authority, faults, rules).fetch, options.port);
  (options.log ?? console.log)(sandboxBanner('ScheduleHub', served.url));
  return {
    url: served.url,
    credentials,
    store,
    setFaults: (f) => faults.set(f),
    setResourceRules: (resource, r) => void rules.set(resource, r),
    revokeTokens: () => authority.revokeAll(),
    stats: () => ({
      tokens: { issued: authority.issued, refreshed: authority.refreshed, rejected: authority.rejected },
      faults: { ...faults.counters },
    }),
    async stop() {
      await served.close();
      await store.close();
    },
  };
}
