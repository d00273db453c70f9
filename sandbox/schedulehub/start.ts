import { composeSandbox } from '../common/compose.ts';
import { FaultInjector, type FaultInput } from '../common/faults.ts';
import { type SandboxHandle, sandboxHandle, tokenAuthority } from '../common/handle.ts';
import { RequestLog } from '../common/requests.ts';
import { serveOnPort } from '../common/serve.ts';
import type { SandboxCredentials, TokenAuthority } from '../common/tokens.ts';
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

export interface SchedulehubSandbox extends SandboxHandle {
  /** Direct access to the stored records (assertions, the demo's report). */
  store: PlanningStore;
  setResourceRules(resource: string, rules: ResourceRules): void;
}

export const SCHEDULEHUB_SANDBOX_DESCRIPTION =
  "The ScheduleHub planning API as SyncFlow uses it: token auth, records per resource keyed by bk_hash, single and batch insert / update / delete with one outcome per record. Served by SyncFlow's ScheduleHub SANDBOX for tests and the demo; a real ScheduleHub deployment is checked against this document.";

export function createSchedulehubApp(
  store: PlanningStore,
  authority: TokenAuthority,
  faults: FaultInjector,
  rules: Map<string, ResourceRules>,
  requests?: RequestLog,
) {
  return composeSandbox({
    title: 'ScheduleHub (SyncFlow contract)',
    description: SCHEDULEHUB_SANDBOX_DESCRIPTION,
    authority,
    faults,
    contract: schedulehubRoutes(store, faults, rules),
    requests,
  });
}

/** Starts the ScheduleHub sandbox over PostgreSQL. */
export async function startSchedulehubSandbox(options: SchedulehubSandboxOptions): Promise<SchedulehubSandbox> {
  const store = new PlanningStore(options.databaseUrl, options.schema);
  await store.init();
  const rules = new Map(Object.entries(options.resources ?? {}));
  const authority = tokenAuthority(options);
  const faults = new FaultInjector(options.faults);
  const requests = new RequestLog();
  const served = await serveOnPort(createSchedulehubApp(store, authority, faults, rules, requests).fetch, options.port);
  return {
    ...sandboxHandle('ScheduleHub', {
      served,
      authority,
      faults,
      closeStore: () => store.close(),
      log: options.log,
      requests,
    }),
    store,
    setResourceRules: (resource, r) => void rules.set(resource, r),
  };
}
