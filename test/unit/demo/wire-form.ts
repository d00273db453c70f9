import { DEMO_TABLES, type DemoTableName } from '../../../demo/erp-schema.ts';
import type { ErpRow } from '../../../sandbox/index.ts';

/**
 * A generated row as it reaches SyncFlow through APISmith: PostgreSQL hands
 * NUMBER(p,s) and INTEGER (bigint) values over as exact text ('12.500',
 * '10'), and the sandbox adds the rowversion. Unit tests normalize this form
 * so they see what the pipeline sees over the wire.
 */
export function wireForm(table: DemoTableName, row: ErpRow, rowVersion = 1): ErpRow {
  const out: ErpRow = {};
  for (const column of DEMO_TABLES[table].columns) {
    const value = row[column.name];
    const scale = /^NUMBER\(\d+,\s*(\d+)\)$/.exec(column.type)?.[1];
    if (typeof value === 'number' && scale !== undefined) out[column.name] = value.toFixed(Number(scale));
    else if (typeof value === 'number' && column.type === 'INTEGER') out[column.name] = String(value);
    else out[column.name] = value;
  }
  out.row_version = String(rowVersion);
  return out;
}
