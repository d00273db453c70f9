import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { ErpStore } from './apismith/erp-store.ts';
import { APISMITH_SANDBOX_DESCRIPTION, createApismithApp } from './apismith/start.ts';
import { contractDocument } from './common/compose.ts';
import { FaultInjector } from './common/faults.ts';
import { TokenAuthority } from './common/tokens.ts';
import { createSchedulehubApp, SCHEDULEHUB_SANDBOX_DESCRIPTION } from './schedulehub/start.ts';
import { PlanningStore } from './schedulehub/store.ts';

/**
 * The written contracts (docs/contracts/*.openapi.yaml) are generated from
 * the same zod schemas the connectors validate answers with and the
 * sandboxes serve, so the three cannot drift apart. A unit test fails when
 * the committed files are stale; regenerate with `npx tsx sandbox/contracts.ts`.
 */
const NO_DATABASE = 'postgresql://contract-generation@127.0.0.1:1/none'; // pools connect lazily: never used

export function contractDocuments() {
  const authority = new TokenAuthority({ username: 'x', password: 'x' }, 60);
  const faults = new FaultInjector();
  const apismith = createApismithApp(new ErpStore(NO_DATABASE), authority, faults);
  const schedulehub = createSchedulehubApp(new PlanningStore(NO_DATABASE), authority, faults, new Map());
  return {
    apismith: apismith.getOpenAPI31Document(
      contractDocument({ title: 'APISmith (SyncFlow contract)', description: APISMITH_SANDBOX_DESCRIPTION }),
    ),
    schedulehub: schedulehub.getOpenAPI31Document(
      contractDocument({ title: 'ScheduleHub (SyncFlow contract)', description: SCHEDULEHUB_SANDBOX_DESCRIPTION }),
    ),
  };
}

export const CONTRACT_FILES = {
  apismith: 'docs/contracts/apismith.openapi.yaml',
  schedulehub: 'docs/contracts/schedulehub.openapi.yaml',
} as const;

export const renderContract = (document: object) =>
  `# Generated from the zod schemas in connectors/*/protocol.ts by sandbox/contracts.ts: do not edit by hand.\n${stringify(document)}`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const documents = contractDocuments();
  for (const [system, file] of Object.entries(CONTRACT_FILES)) {
    await writeFile(path.resolve(file), renderContract(documents[system as keyof typeof documents]));
    console.log(`wrote ${file}`);
  }
}
