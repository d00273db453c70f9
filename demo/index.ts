/**
 * The demo's data and configuration, for the orchestration that runs it
 * (npm start) and for tests: seed the sandbox ERP, move it on between syncs,
 * and the three entity configurations with the numbers to expect.
 */
export { type DemoChangePlan, planDemoChanges, type RoundExpectation } from './changes.ts';
export { DEFECT_ERROR_CODES, DEFECT_KINDS, type DefectKind } from './defects.ts';
export {
  DEMO_CONNECTIONS,
  DEMO_TARGET_SCHEMA,
  type DemoConnectionNames,
  type DemoEntitiesOptions,
  demoConnections,
  demoEntities,
  demoSchedulehubResources,
} from './entities.ts';
export {
  DEFAULT_ERP_DATA_OPTIONS,
  type DemoErpData,
  type DemoExpectations,
  type ErpDataOptions,
  generateErpData,
  type RowRole,
  type TableExpectation,
} from './erp-data.ts';
export { DEMO_API_SLUGS, DEMO_TABLE_NAMES, DEMO_TABLES, type DemoTableName, type ErpKey } from './erp-schema.ts';
export { applyDemoChanges, type DemoChanges, type SeedResult, seedDemoErp } from './seed.ts';
