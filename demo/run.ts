import { connectionConfigSchema } from '../connectors/connections.ts';
import type { SecretBox } from '../connectors/secret-box.ts';
import { type ControlDeps, type SyncStatus, startSync } from '../control/syncs.ts';
import { waitForSync } from '../control/wait.ts';
import { saveConnection } from '../db/connections.ts';
import { getEntity, saveEntity } from '../db/entities.ts';
import { entityConfigSchema } from '../pipeline/entity-config.ts';
import {
  type ApismithSandbox,
  type SchedulehubSandbox,
  startApismithSandbox,
  startSchedulehubSandbox,
} from '../sandbox/index.ts';
import { demoBackgroundLoad, demoSchedule, entitiesUnderBackgroundLoad } from './background.ts';
import { DEMO_TARGET_SCHEMA, demoConnections, demoEntities, demoSchedulehubResources } from './entities.ts';
import { DEMO_TABLE_NAMES } from './erp-schema.ts';
import { applyDemoChanges, seedDemoErp } from './seed.ts';

/**
 * The demo, `npm start`'s main job: the sandbox ERP (through the APISmith
 * sandbox) synced into the ScheduleHub sandbox and a PostgreSQL table.
 * First start: seed messy data, register the three entities, a dry run, an
 * executed full sync, then a round of source changes and an incremental
 * sync. Every later start: the next round of changes and an incremental sync. Then a multi-day background
 * load of the last entity in a window open now (demo/background.ts) and an incremental schedule of the first.
 */
export interface DemoOptions {
  control: ControlDeps;
  /** SyncFlow's own database, where the sandboxes keep their data. */
  databaseUrl: string;
  /** The database the demo's PostgreSQL target writes to (embedded: a role that owns only what it creates). */
  warehouseUrl: string;
  secrets: SecretBox;
  apismithPort: number;
  schedulehubPort: number;
  log: (line: string) => void;
}

export interface DemoHandle {
  apismith: ApismithSandbox;
  schedulehub: SchedulehubSandbox;
  /** Every batch the demo ran, in order, as the database holds them. */
  batches: SyncStatus[];
  stop(): Promise<void>;
}

/** Short waits so the demo's children find their parents (or give up) within seconds, not minutes. */
const DEMO_CHILD_TIMING = { childRetryBaseSeconds: 0.5, childWaitSeconds: 2 };
/** The demo shows each of the nine stages as its own activity in the Web UI (the default fuses six: README). */
const DEMO_STAGES = { stageActivities: 'split' as const };

export async function startDemo(options: DemoOptions): Promise<DemoHandle> {
  const { control, log } = options;
  const apismith = await startApismithSandbox({ databaseUrl: options.databaseUrl, port: options.apismithPort });
  const schedulehub = await startSchedulehubSandbox({
    databaseUrl: options.databaseUrl,
    port: options.schedulehubPort,
    resources: demoSchedulehubResources(),
  });
  const handle: DemoHandle = {
    apismith,
    schedulehub,
    batches: [],
    async stop() {
      await Promise.allSettled([apismith.stop(), schedulehub.stop()]);
    },
  };
  try {
    // The sandboxes make up credentials per run: the connections are saved again with this run's.
    const connections = demoConnections({
      apismith: { url: apismith.url, ...apismith.credentials },
      schedulehub: { url: schedulehub.url, ...schedulehub.credentials },
      warehouseUrl: options.warehouseUrl,
    });
    for (const connection of connections) {
      await saveConnection(
        control.prisma,
        { ...connection, config: connectionConfigSchema.parse(connection.config) },
        options.secrets,
      );
    }
    const seed = await seedDemoErp(apismith.erp);
    const configs = demoEntities({ targetSchema: DEMO_TARGET_SCHEMA }).map((config) =>
      entityConfigSchema.parse({ ...config, ...DEMO_CHILD_TIMING, ...DEMO_STAGES }),
    );
    const names = configs.map((c) => c.name);
    const firstRun = seed.status === 'seeded' || (await getEntity(control.prisma, names[0]!)) === null;
    for (const config of configs) {
      const stored = await getEntity(control.prisma, config.name);
      if (!stored || JSON.stringify(stored.config) !== JSON.stringify(config)) await saveEntity(control.prisma, config);
    }

    const run = async (title: string, syncType: 'full' | 'incremental', execute: boolean, entities = names) => {
      log(`\n${title}`);
      const started = await startSync(control, { entities, syncType, execute });
      const results: SyncStatus[] = [];
      for (const sync of started) results.push(await waitForSync(control, sync.batchUid));
      handle.batches.push(...results);
      printSummary(results, log);
    };

    if (firstRun) {
      const e = seed.expected;
      log(
        `\nDemo: seeded the sandbox ERP with ${DEMO_TABLE_NAMES.map((t) => `${e[t].rows} ${t}`).join(', ')} ` +
          '(mixed date formats, formatted and accounting numbers, CRLF and control characters, invalid rows, ' +
          'children that arrive before their parents or never find one).',
      );
      await run(
        'Dry run (stages 1-7: nothing is written to any target; children count the parents this dry run would write):',
        'full',
        false,
      );
      await run('Executed full sync into ScheduleHub (primary) and PostgreSQL (secondary):', 'full', true);
    }
    const changes = await applyDemoChanges(apismith.erp);
    const changed = DEMO_TABLE_NAMES.map(
      (t) => `${t}: ${changes.updated[t].length} updated, ${changes.inserted[t].length} inserted`,
    ).join('; ');
    log(`\nDemo: change round ${changes.round} in the source (${changed}).`);
    // An entity whose background load is under way is read by that load, not by the incremental sync.
    const loading = await entitiesUnderBackgroundLoad(control, names);
    const incremental = names.filter((name) => !loading.includes(name));
    await run(
      `Incremental sync (rows above the watermark only)${loading.length > 0 ? `; ${loading.join(', ')} left to its background load` : ''}:`,
      'incremental',
      true,
      incremental,
    );
    const children = await control.prisma.pendingChild.groupBy({
      by: ['entityName', 'status'],
      where: { entityName: { in: names } },
      _count: true,
    });
    if (children.length > 0) {
      const byEntity = names
        .map((name) => {
          const parts = children.filter((c) => c.entityName === name).map((c) => `${c._count} ${c.status}`);
          return parts.length > 0 ? `${name}: ${parts.join(', ')}` : null;
        })
        .filter(Boolean);
      log(
        `  children that waited for a parent (released ones were counted on the batch that read them): ${byEntity.join('; ')}`,
      );
    }
    await demoBackgroundLoad(control, names[names.length - 1]!, log);
    await demoSchedule(control, names[0]!, log);
    log(
      `\nDemo data: sandbox ERP ${apismith.url} (APISmith SANDBOX), ScheduleHub SANDBOX ${schedulehub.url}, ` +
        `PostgreSQL tables ${DEMO_TARGET_SCHEMA}.{${names.join(',')}}. Run npm start again for the next incremental round.`,
    );
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

const COLUMNS = ['fetched', 'inserted', 'updated', 'skipped', 'failed', 'pending', 'deleted'] as const;

/** The per-entity table the demo prints, read from the batches as the database holds them. */
export function printSummary(batches: readonly SyncStatus[], log: (line: string) => void): void {
  const header = ['entity'.padEnd(18), ...COLUMNS.map((c) => c.padStart(9)), 'rows/s'.padStart(9), '  status'];
  log(`  ${header.join('')}`);
  for (const b of batches) {
    const rowsPerSecond = (b.metrics as { rowsPerSecond?: number } | null)?.rowsPerSecond ?? 0;
    const cells = [
      b.entityName.padEnd(18),
      ...COLUMNS.map((c) => b.counts[c].toLocaleString('en-US').padStart(9)),
      rowsPerSecond.toLocaleString('en-US').padStart(9),
      `  ${b.status}${b.dryRun ? ' (dry run)' : ''}${b.error ? `: ${b.error}` : ''}`,
    ];
    log(`  ${cells.join('')}`);
  }
}
