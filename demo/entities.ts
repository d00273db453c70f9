import type { ConnectionConfigInput } from '../connectors/connections.ts';
import type { EntityConfigInput } from '../pipeline/entity-config.ts';
import type { ResourceRules } from '../sandbox/index.ts';
import { DEMO_API_SLUGS, type DemoTableName } from './erp-schema.ts';
import { ITEM_TYPES, valueMapOf, WORK_CENTERS, WORK_ORDER_STATUSES } from './vocabulary.ts';

/**
 * The demo's three entities: the sandbox ERP's tables (through APISmith)
 * into ScheduleHub (primary) and a PostgreSQL table in SyncFlow's own
 * database (secondary). Field types say how a column is *read*: the ERP keeps
 * prices, hours and dates in VARCHAR2 columns, and the configuration declares
 * them NUMBER / DATE / TIMESTAMP so normalization parses them. Target field
 * names equal the ERP column names, so business keys also order the source
 * pages. Returned parents first.
 */
/** The demo's named connections: the sandbox ERP, the planning system, and the PostgreSQL warehouse. */
export const DEMO_CONNECTIONS = { erp: 'demo-erp', planning: 'demo-planning', warehouse: 'demo-warehouse' } as const;
export type DemoConnectionNames = { [K in keyof typeof DEMO_CONNECTIONS]: string };

export interface DemoEntitiesOptions {
  /** Schema of the PostgreSQL target tables (default `demo_target`). */
  targetSchema?: string;
  /** Prefix for the entity names (default none), for tests that register the demo next to other entities. */
  entityPrefix?: string;
  /** The connections the entities name (default DEMO_CONNECTIONS). */
  connections?: DemoConnectionNames;
}

/**
 * The demo's three connections, as an operator would define them. The sandboxes make up a password per
 * run, so the demo saves its connections on every start with this run's credentials as inline secrets:
 * sealed with SYNCFLOW_SECRET_KEY in the database, opened only by the worker.
 */
export function demoConnections(options: {
  apismith: { url: string; username: string; password: string };
  schedulehub: { url: string; username: string; password: string };
  warehouseUrl: string;
  names?: DemoConnectionNames;
}): Array<{ name: string; config: ConnectionConfigInput; description: string }> {
  const names = options.names ?? DEMO_CONNECTIONS;
  const auth = (c: { username: string; password: string }) => ({
    username: { value: c.username },
    password: { value: c.password },
  });
  return [
    {
      name: names.erp,
      description: 'Demo: the sandbox ERP behind the APISmith SANDBOX',
      config: { type: 'apismith', baseUrl: options.apismith.url, auth: auth(options.apismith) },
    },
    {
      name: names.planning,
      description: 'Demo: the ScheduleHub SANDBOX',
      config: { type: 'schedulehub', baseUrl: options.schedulehub.url, auth: auth(options.schedulehub) },
    },
    {
      name: names.warehouse,
      description: 'Demo: PostgreSQL target tables (a role that may only write the schemas it creates)',
      config: { type: 'postgres', url: { value: options.warehouseUrl } },
    },
  ];
}

export const DEMO_TARGET_SCHEMA = 'demo_target';
export const DEMO_TIME_ZONE = 'Europe/Berlin';

type Fields = EntityConfigInput['fields'];

const ITEM_FIELDS: Fields = [
  {
    source: 'part_no',
    target: 'part_no',
    type: 'VARCHAR2(40)',
    transformation: 'uppercase',
    required: true,
    rules: { pattern: '[A-Z]{1,3}-\\d{5,6}' },
  },
  {
    source: 'plant',
    target: 'plant',
    type: 'CHAR(4)',
    transformation: 'uppercase',
    required: true,
    rules: { pattern: '[A-Z]{2}\\d{2}' },
  },
  {
    source: 'description',
    target: 'description',
    type: 'VARCHAR2(200)',
    transformation: 'title_case',
    required: true,
    rules: { maxLength: 200 },
  },
  {
    source: 'item_type',
    target: 'item_type',
    type: 'VARCHAR2(30)',
    required: true,
    valueMap: { values: valueMapOf(ITEM_TYPES), caseInsensitive: true, unmapped: 'reject' },
  },
  // Credit items (deposits, returns) are negative; anything beyond these bounds is a typo.
  { source: 'unit_price', target: 'unit_price', type: 'NUMBER', range: { min: -100_000, max: 1_000_000 } },
  { source: 'weight_kg', target: 'weight_kg', type: 'NUMBER(10,3)', range: { min: 0, max: 50_000 } },
  { source: 'valid_from', target: 'valid_from', type: 'DATE' },
  { source: 'is_active', target: 'is_active', type: 'BOOLEAN', default: true },
  { source: 'created_at', target: 'created_at', type: 'TIMESTAMP' },
  { source: 'row_version', target: 'row_version', type: 'INTEGER' },
];

const WORK_ORDER_FIELDS: Fields = [
  {
    source: 'wo_no',
    target: 'wo_no',
    type: 'VARCHAR2(20)',
    transformation: 'uppercase',
    required: true,
    rules: { pattern: 'WO-\\d{7}' },
  },
  { source: 'part_no', target: 'part_no', type: 'VARCHAR2(40)', transformation: 'uppercase', required: true },
  { source: 'plant', target: 'plant', type: 'CHAR(4)', transformation: 'uppercase', required: true },
  { source: 'quantity', target: 'quantity', type: 'NUMBER(12,3)', required: true, range: { min: 1, max: 100_000 } },
  { source: 'due_date', target: 'due_date', type: 'DATE' },
  { source: 'planned_start', target: 'planned_start', type: 'TIMESTAMP' },
  {
    source: 'status',
    target: 'status',
    type: 'VARCHAR2(20)',
    required: true,
    valueMap: { values: valueMapOf(WORK_ORDER_STATUSES), caseInsensitive: true, unmapped: 'reject' },
  },
  { source: 'created_at', target: 'created_at', type: 'TIMESTAMP' },
  { source: 'row_version', target: 'row_version', type: 'INTEGER' },
];

const LINE_FIELDS: Fields = [
  { source: 'wo_no', target: 'wo_no', type: 'VARCHAR2(20)', transformation: 'uppercase', required: true },
  { source: 'line_no', target: 'line_no', type: 'INTEGER', required: true, range: { min: 1, max: 9999 } },
  // No transformation: the operation text keeps its line structure (CRLF → LF, blank lines dropped).
  { source: 'operation', target: 'operation', type: 'CLOB', required: true },
  {
    source: 'work_center',
    target: 'work_center',
    type: 'VARCHAR2(20)',
    required: true,
    valueMap: { values: valueMapOf(WORK_CENTERS), caseInsensitive: true, unmapped: 'reject' },
  },
  // Shop-floor hours use the decimal comma ('2,75', '1.020,5'): see decimalSeparator below.
  { source: 'hours', target: 'hours', type: 'NUMBER', range: { min: 0, max: 2000 } },
  { source: 'planned_start', target: 'planned_start', type: 'TIMESTAMP' },
  { source: 'row_version', target: 'row_version', type: 'INTEGER' },
];

interface EntityShape {
  table: DemoTableName;
  description: string;
  businessKey: string[];
  decimalSeparator: '.' | ',';
  fields: Fields;
  parent?: { table: DemoTableName; fields: Record<string, string> };
}

const SHAPES: EntityShape[] = [
  {
    table: 'items',
    description: 'Demo: ERP item master per plant → ScheduleHub items + PostgreSQL',
    businessKey: ['part_no', 'plant'],
    decimalSeparator: '.',
    fields: ITEM_FIELDS,
  },
  {
    table: 'work_orders',
    description: 'Demo: ERP work orders → ScheduleHub work_orders + PostgreSQL (children of items)',
    businessKey: ['wo_no'],
    decimalSeparator: '.',
    fields: WORK_ORDER_FIELDS,
    parent: { table: 'items', fields: { part_no: 'part_no', plant: 'plant' } },
  },
  {
    table: 'work_order_lines',
    description:
      'Demo: ERP work order operations → ScheduleHub work_order_lines + PostgreSQL (children of work orders)',
    businessKey: ['wo_no', 'line_no'],
    decimalSeparator: ',',
    fields: LINE_FIELDS,
    parent: { table: 'work_orders', fields: { wo_no: 'wo_no' } },
  },
];

export function demoEntities(options: DemoEntitiesOptions): EntityConfigInput[] {
  const prefix = options.entityPrefix ?? '';
  const schema = options.targetSchema ?? DEMO_TARGET_SCHEMA;
  const connections = options.connections ?? DEMO_CONNECTIONS;
  return SHAPES.map((shape) => ({
    name: `${prefix}${shape.table}`,
    description: shape.description,
    source: {
      type: 'apismith',
      connection: connections.erp,
      apiSlug: DEMO_API_SLUGS[shape.table],
    },
    targets: [
      {
        type: 'schedulehub',
        name: 'schedulehub',
        role: 'primary',
        connection: connections.planning,
        resource: shape.table,
        // The sandbox is local: a generous cap keeps the demo quick while still exercising the limiter.
        rpmCap: 6000,
        batchSize: 500,
      },
      {
        type: 'postgres',
        name: 'postgres',
        role: 'secondary',
        connection: connections.warehouse,
        schema,
        table: shape.table,
      },
    ],
    businessKey: shape.businessKey,
    rowversionField: 'row_version',
    deltaStrategy: 'auto',
    pageSize: 500,
    sourceTimeZone: DEMO_TIME_ZONE,
    dateOrder: 'DMY',
    decimalSeparator: shape.decimalSeparator,
    // The demo never deletes in the source; a full sync that finds a row gone removes it from both targets alike.
    deletePolicy: 'hard',
    fields: shape.fields,
    parents: shape.parent ? [{ entity: `${prefix}${shape.parent.table}`, fields: shape.parent.fields }] : [],
    unitCost: 0.001,
  }));
}

/**
 * What the ScheduleHub sandbox should enforce per resource (pass as
 * `resources` to startSchedulehubSandbox): the fields the entities require,
 * as a real planning system would refuse a record without them.
 */
export function demoSchedulehubResources(): Record<string, ResourceRules> {
  return Object.fromEntries(
    SHAPES.map((shape) => [shape.table, { required: shape.fields.filter((f) => f.required).map((f) => f.target) }]),
  );
}
