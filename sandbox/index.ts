/**
 * SANDBOXES: local stand-ins for APISmith and ScheduleHub that speak the
 * contracts in docs/contracts/, for tests and the demo. Never production.
 */

export type { ApiRegistration, ErpColumn, ErpRow, ErpStore, ErpTableDefinition } from './apismith/erp-store.ts';
export { ROWVERSION_COLUMN } from './apismith/erp-store.ts';
export { type ApismithSandbox, type ApismithSandboxOptions, startApismithSandbox } from './apismith/start.ts';
export type { FaultInput, FaultSettings } from './common/faults.ts';
export type { SandboxHandle, SandboxStats } from './common/handle.ts';
export { SANDBOX_HEADER } from './common/label.ts';
export {
  type SchedulehubSandbox,
  type SchedulehubSandboxOptions,
  startSchedulehubSandbox,
} from './schedulehub/start.ts';
export type { PlanningStore } from './schedulehub/store.ts';
export type { ResourceRules } from './schedulehub/validation.ts';
