import type { Command } from 'commander';
import type { MigrationState } from '../../pipeline/migration/runbook.ts';
import { type ApiClient, CliError } from '../api-client.ts';
import { readJsonFile } from '../json-file.ts';
import { type Cell, print, table } from '../output.ts';

/** The API's answer (GET /migrations/:id): the runbook's state as JSON (dates as ISO strings already). */
export type MigrationView = MigrationState;

interface Started {
  id: string;
  workflowId: string;
  entityName: string;
}

const idPath = (id: string) => `/migrations/${encodeURIComponent(id)}`;

/** `2026-12-02 03:12:04` (UTC, as the API's instants). */
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : null);
const yesNo = (b: boolean | null) => (b === null ? null : b ? 'yes' : 'NO');

/** What the run waits for, as a sentence with the command that unblocks it. */
function waitingText(m: MigrationView): string {
  if (m.status !== 'running') return `nothing (the migration is ${m.status.replace('_', ' ')})`;
  if (m.requested) return `the running step's work to end, then the ${m.requested} is carried out`;
  if (!m.waitingFor) return `nothing (step ${m.step} is under way)`;
  const { step, reason } = m.waitingFor;
  return reason === 'approval'
    ? `an approval of ${step}: syncflow migrate approve ${m.id} ${step}`
    : `a forced approval of ${step} (the reconcile it is gated on is not clean): syncflow migrate approve ${m.id} ${step} --force`;
}

/** `migrate status`: a header, the steps as a table, the targets' roles and what the run waits for. */
export function statusText(m: MigrationView): string {
  const lines = [
    `Migration ${m.id} of ${m.entityName}: ${m.from} → ${m.to}: ${m.status.replace('_', ' ')}, step ${m.step}`,
    `  workflow ${m.workflowId}; ${m.autoApprove ? 'auto-approve on a clean reconcile' : 'each step waits for an approval'}; ` +
      `soak ${m.soakMinutes} min, a reconcile every ${m.soakCheckMinutes} min`,
  ];
  if (m.requested) lines.push(`  ${m.requested} accepted: carried out once the running step's work ends`);
  if (m.error) lines.push(`  error: ${m.error}`);
  const rows: Cell[][] = m.steps.map((s) => [
    s.step,
    s.status,
    when(s.startedAt),
    when(s.finishedAt),
    s.reconcileUids.length === 0 ? null : s.reconcileUids.join(','),
    yesNo(s.clean),
    s.forced ? 'FORCED' : 'no',
    s.note,
  ]);
  lines.push(
    '',
    table(['STEP', 'STATUS', 'STARTED', 'FINISHED', 'RECONCILE', 'CLEAN', 'FORCED', 'NOTE'], rows),
    '',
    `roles: ${
      Object.entries(m.roles)
        .map(([target, role]) => `${target} ${role}`)
        .join(', ') || '-'
    }`,
    `waiting for: ${waitingText(m)}`,
  );
  return lines.join('\n');
}

/** A whole number, or the text as given (the API then names the field it is not one for). */
const numberOption = (text: string) => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A migration by id, or an entity's newest (its running one first). */
async function findMigration(client: ApiClient, idOrEntity: string): Promise<MigrationView> {
  if (UUID.test(idOrEntity)) return client.get<MigrationView>(idPath(idOrEntity));
  const { items } = await client.get<{ items: MigrationView[] }>(
    `/migrations?${new URLSearchParams({ entity: idOrEntity })}`,
  );
  const newest = [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const found = newest.find((m) => m.status === 'running') ?? newest[0];
  if (!found) throw new CliError(`No migration of "${idOrEntity}" (nor a migration with that id).`);
  return found;
}

/**
 * `syncflow migrate …`: move an entity from one target (store) to another through the `migrateTarget` runbook:
 * start, status, approve a step, rollback, abort. Exit 0 when the API took the command, 1 otherwise.
 */
export function registerMigrate(program: Command, api: () => ApiClient) {
  const migrate = program
    .command('migrate')
    .description(
      'Store migrations: move an entity from one target to another (shadow, backfill, verify, cutover, soak, retire), ' +
        'each step approved or carried on by a clean reconcile; rollback before retire',
    );

  migrate
    .command('start')
    .description('Start a migration of an entity from its primary target to a new one')
    .argument('<entity>', 'the entity')
    .requiredOption('--from <target>', "the target to move away from (the entity's primary)")
    .requiredOption('--to-file <file>', 'a JSON file with the new target configuration (as in the entity\'s "targets")')
    .option('--auto-approve', 'carry on to the next step whenever its reconcile is clean, without approvals')
    .option('--soak-minutes <n>', 'how long the soak step lasts (default 60)')
    .option('--soak-check-minutes <n>', 'how often both targets are reconciled while soaking (default 15)')
    .option('--json', 'print the API answer as JSON')
    .action(
      async (
        entity: string,
        opts: {
          from: string;
          toFile: string;
          autoApprove?: boolean;
          soakMinutes?: string;
          soakCheckMinutes?: string;
          json?: boolean;
        },
      ) => {
        const to = await readJsonFile(opts.toFile);
        if (to === null || typeof to !== 'object' || Array.isArray(to)) {
          throw new CliError(`${opts.toFile}: must hold one target configuration (a JSON object).`);
        }
        const started = await api().post<Started>('/migrations', {
          entity,
          from: opts.from,
          to,
          ...(opts.autoApprove ? { autoApprove: true } : {}),
          ...(opts.soakMinutes === undefined ? {} : { soakMinutes: numberOption(opts.soakMinutes) }),
          ...(opts.soakCheckMinutes === undefined ? {} : { soakCheckMinutes: numberOption(opts.soakCheckMinutes) }),
        });
        if (opts.json) {
          print(JSON.stringify(started, null, 2));
          return;
        }
        const toName = (to as { name?: unknown }).name;
        print(
          `Started the migration of ${started.entityName} from ${opts.from} to ${String(toName)}: ${started.id} (workflow ${started.workflowId})`,
        );
        print(`  Watch it: syncflow migrate status ${started.id}`);
      },
    );

  migrate
    .command('status')
    .description("A migration step by step, the targets' roles and what it waits for (by id, or an entity's newest)")
    .argument('<id|entity>', "the migration's id, or an entity (its running or newest migration)")
    .option('--json', 'print the API answer as JSON')
    .action(async (idOrEntity: string, opts: { json?: boolean }) => {
      const m = await findMigration(api(), idOrEntity);
      print(opts.json ? JSON.stringify(m, null, 2) : statusText(m));
    });

  migrate
    .command('approve')
    .description('Approve the step the migration waits at (shadow, backfill, verify, cutover, soak, retire)')
    .argument('<id>', "the migration's id")
    .argument('<step>', 'the step it waits at')
    .option('--force', 'cutover or retire: approve although the reconcile it is gated on is not clean (recorded)')
    .option('--json', 'print the API answer as JSON')
    .action(async (id: string, step: string, opts: { force?: boolean; json?: boolean }) => {
      const m = await api().post<MigrationView>(`${idPath(id)}/approve`, {
        step,
        ...(opts.force ? { force: true } : {}),
      });
      if (opts.json) print(JSON.stringify(m, null, 2));
      else {
        print(
          `Approved ${step}${opts.force ? ' (forced)' : ''} of migration ${m.id} (${m.entityName}): the run goes on.`,
        );
        print(`  Watch it: syncflow migrate status ${m.id}`);
      }
    });

  for (const [action, what] of [
    ['rollback', "Roll back: the entity's targets as before the migration, by configuration (refused after retire)"],
    ['abort', "Abort the migration where it is, the entity's targets as they are"],
  ] as const) {
    migrate
      .command(action)
      .description(`${what}; carried out once the running step's work (a sync, a reconcile) ends`)
      .argument('<id>', "the migration's id")
      .option('--json', 'print the API answer as JSON')
      .action(async (id: string, opts: { json?: boolean }) => {
        const m = await api().post<MigrationView>(`${idPath(id)}/${action}`);
        if (opts.json) print(JSON.stringify(m, null, 2));
        else {
          print(
            m.status === 'running'
              ? `The ${action} of migration ${m.id} (${m.entityName}) is accepted: carried out once the running step's work ends. Watch it: syncflow migrate status ${m.id}`
              : `Migration ${m.id} (${m.entityName}) is ${m.status.replace('_', ' ')}.`,
          );
          print(statusText(m));
        }
      });
  }
}
