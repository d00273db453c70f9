import type { Command } from 'commander';
import type { LastRetry, TargetState } from '../../db/target-state.ts';
import type { MigrationState } from '../../pipeline/migration/runbook.ts';
import { type ApiClient, CliError } from '../api-client.ts';
import { readJsonFile, readNamedDocuments } from '../json-file.ts';
import { count, print, table } from '../output.ts';

interface EntityView {
  name: string;
  mode: string;
  enabled: boolean;
  configVersion: number;
  config: { source: { type: string }; targets: Array<{ name: string; type: string }>; description?: string };
  /** GET /entities/:name only: the running store migration (api/schemas/migration.ts), null when none. */
  migration?: Pick<MigrationState, 'id' | 'from' | 'to' | 'step' | 'waitingFor' | 'requested'> | null;
}

/** The line `entities show` prints on a running migration: where it is and what it waits for. */
export function migrationLine(m: NonNullable<EntityView['migration']>): string {
  const waits = m.requested
    ? `, ${m.requested} requested`
    : m.waitingFor
      ? `, waiting for ${m.waitingFor.reason === 'approval' ? 'approval of' : 'a clean reconcile (or a forced approval) before'} ${m.waitingFor.step}`
      : '';
  return `Migration ${m.id}: ${m.from} → ${m.to}, step ${m.step}${waits} (syncflow migrate status ${m.id})`;
}

/** The API's answer (GET /entities/:name/targets): db/target-state.ts's figures, dates as ISO strings. */
export interface TargetsView {
  entity: string;
  targets: TargetState[];
  lastRetry:
    | (Omit<LastRetry, 'startedAt' | 'completedAt'> & { startedAt: string | null; completedAt: string | null })
    | null;
}

/** An ISO time to the second, as the table shows it. */
const second = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : null);

/** The per-target table of `entities show`, and a line on the last retry pass (per entity: the same on every row). */
export function targetsText(v: TargetsView): string {
  const last = v.lastRetry;
  const when = last ? [last.status, second(last.completedAt ?? last.startedAt)].filter(Boolean).join(' ') : null;
  const lines = [
    table(
      ['TARGET', 'ROLE', 'SYNCED', 'PENDING', 'FAILED', 'ABANDONED', 'DLQ', 'LAST-RETRY'],
      v.targets.map((t) => [
        t.name,
        t.role,
        count(t.synced),
        count(t.pending),
        count(t.failed),
        count(t.abandoned),
        count(t.deadLetters),
        when,
      ]),
    ),
  ];
  const deleted = v.targets.filter((t) => t.deleted > 0);
  if (deleted.length > 0) {
    lines.push(`Deleted (not counted above): ${deleted.map((t) => `${t.name} ${count(t.deleted)}`).join(', ')}`);
  }
  if (!last) {
    lines.push('Last retry pass: none');
  } else {
    const r = last.replay;
    const figure = (n: number | null) => (n === null ? '?' : count(n));
    const p = r?.preview;
    const figures = !r
      ? ''
      : last.dryRun
        ? `: dry run, selected ${figure(r.selected)}, would resolve ${figure(p?.wouldResolve ?? null)}, would wait ${figure(p?.wouldWait ?? null)}, would fail ${figure(p?.wouldFail ?? null)}`
        : `: selected ${figure(r.selected)}, resolved ${figure(r.resolved)}, failed again ${figure(r.failedAgain)}, abandoned ${figure(r.abandoned)}`;
    lines.push(`Last retry pass: batch ${last.batchUid}${r?.trigger ? ` (${r.trigger})` : ''} ${when}${figures}`);
  }
  return lines.join('\n');
}

/** `--set a.b=value` pairs → a merge patch; a value that parses as JSON is that JSON (`true`, `500`, `null`), else text. */
export function patchFromSets(sets: readonly string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new CliError(`--set ${set}: expected path=value (for example deletePolicy=soft).`);
    const keys = set.slice(0, eq).split('.');
    const text = set.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let node = patch;
    for (const key of keys.slice(0, -1)) {
      if (!node[key] || typeof node[key] !== 'object') node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
  }
  return patch;
}

async function readPatch(file: string): Promise<Record<string, unknown>> {
  const patch = await readJsonFile(file);
  if (!patch || typeof patch !== 'object' || Array.isArray(patch))
    throw new CliError(`${file}: a merge patch is a JSON object.`);
  return patch as Record<string, unknown>;
}

/** `syncflow entities …`: apply from a file (create or replace), patch, list, show, promote. */
export function registerEntities(program: Command, api: () => ApiClient) {
  const entities = program.command('entities').description('Entity configurations');

  entities
    .command('apply')
    .description('Create or replace entities from a JSON file (one configuration or an array)')
    .requiredOption('-f, --file <path>', 'the JSON file')
    .action(async (opts: { file: string }) => {
      for (const config of await readNamedDocuments(opts.file, 'entity')) {
        const name = String(config.name);
        const exists = await api()
          .get<EntityView>(`/entities/${encodeURIComponent(name)}`)
          .then(
            () => true,
            (error: unknown) => {
              if (error instanceof CliError && error.api?.code === 'entity_not_found') return false;
              throw error;
            },
          );
        const saved = exists
          ? await api().put<EntityView>(`/entities/${encodeURIComponent(name)}`, config)
          : await api().post<EntityView>('/entities', config);
        print(`${exists ? 'Updated' : 'Created'} ${saved.name} (${saved.mode}, config version ${saved.configVersion})`);
      }
    });

  entities
    .command('patch')
    .description('Change part of an entity with a JSON merge patch (from a file, or --set path=value pairs)')
    .argument('<name>')
    .option('-f, --file <path>', 'a JSON merge patch (RFC 7396); `fields` may be keyed by target name')
    .option(
      '--set <path=value...>',
      'e.g. deletePolicy=soft, fields.qty.sensitive=true (values parsed as JSON when they are)',
    )
    .action(async (name: string, opts: { file?: string; set?: string[] }) => {
      if (!opts.file && !opts.set?.length) throw new CliError('Give the patch with -f <file> or --set path=value.');
      const patch = { ...(opts.file ? await readPatch(opts.file) : {}), ...patchFromSets(opts.set ?? []) };
      const saved = await api().patch<EntityView>(`/entities/${encodeURIComponent(name)}`, patch);
      print(`Patched ${saved.name} (${saved.mode}, config version ${saved.configVersion})`);
    });

  entities
    .command('list')
    .description('Every entity')
    .action(async () => {
      const { entities: list } = await api().get<{ entities: EntityView[] }>('/entities');
      print(
        table(
          ['NAME', 'MODE', 'ENABLED', 'SOURCE', 'TARGETS', 'VERSION'],
          list.map((e) => [
            e.name,
            e.mode,
            e.enabled,
            e.config.source.type,
            e.config.targets.map((t) => `${t.name} (${t.type})`).join(', '),
            e.configVersion,
          ]),
        ),
      );
    });

  entities
    .command('show')
    .description(
      "An entity's configuration (secrets shown as ***), then each target's records by status, DLQ and last retry pass",
    )
    .argument('<name>')
    .option('--json', 'print one JSON document: the entity, with the targets answer as `targetState`')
    .action(async (name: string, opts: { json?: boolean }) => {
      const path = `/entities/${encodeURIComponent(name)}`;
      const entity = await api().get<EntityView>(path);
      const { targets, lastRetry } = await api().get<TargetsView>(`${path}/targets`);
      if (opts.json) {
        print(JSON.stringify({ ...entity, targetState: { targets, lastRetry } }, null, 2));
        return;
      }
      print(JSON.stringify(entity, null, 2));
      print();
      print(targetsText({ entity: entity.name, targets, lastRetry }));
      if (entity.migration) print(migrationLine(entity.migration));
    });

  entities
    .command('backfill')
    .description(
      'Backfill one target from the source: a full sync of the entity, by upsert (the target gets all it lacks)',
    )
    .argument('<entity>')
    .argument('<target>')
    .action(async (entity: string, target: string) => {
      const { batch } = await api().post<{
        target: string;
        batch: { batchUid: string; workflowId: string; dryRun: boolean };
      }>(`/entities/${encodeURIComponent(entity)}/targets/${encodeURIComponent(target)}/backfill`);
      print(
        `Started a full ${batch.dryRun ? 'dry run' : 'sync'} of ${entity} to backfill ${target}: batch ${batch.batchUid} (workflow ${batch.workflowId})`,
      );
    });

  entities
    .command('promote')
    .description('Promote an entity from dry-run to live: its syncs then write to the targets')
    .argument('<name>')
    .action(async (name: string) => {
      const entity = await api().post<EntityView>(`/entities/${encodeURIComponent(name)}/promote`);
      print(`${entity.name} is ${entity.mode}.`);
    });
}
