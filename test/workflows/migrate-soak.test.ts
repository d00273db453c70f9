import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundle } from '@temporalio/worker';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationActivities, SetMigrationTargetsInput } from '../../activities/migration.ts';
import type { TargetConfig } from '../../pipeline/connector-config.ts';
import { initialSteps, type MigrationState, migrationSteps, type StepState } from '../../pipeline/migration/runbook.ts';
import {
  approveMigrationUpdate,
  MIGRATE_WORKFLOW,
  migrateWorkflowId,
  migrationStateQuery,
  rollbackMigrationUpdate,
} from '../../workflows/contract.ts';
import type { MigrateTargetRunInput, migrateTarget } from '../../workflows/migrate-target.ts';
import { TestBed, until } from './support/env.ts';
import { Gate } from './support/fake-sync.ts';
import type { FakeReconcileActivities } from './support/migrate-workflows.ts';

/**
 * Long soaks of a store migration (workflows/migrate-target.ts) in simulated time: the real migrateTarget on its
 * own task queue, its child workflows (reconcile, scheduledSync) faked under their real names
 * (support/migrate-workflows.ts) and its activities in memory here, so a soak of days runs in seconds. A soak
 * continues as new between checks (SOAK_CHECKS_PER_RUN a run, or `soakChecksPerRun`) with its end and its checks
 * in the state: every check is run once, at its planned time, and the next run resumes without the step's gate.
 */
const MIGRATE_QUEUE = 'syncflow-migrate';
const MINUTE = 60_000;
const FROM = 'old_store';
const TO: TargetConfig = {
  type: 'postgres',
  name: 'new_store',
  role: 'primary',
  connection: 'local',
  schema: 'rec',
  table: 'items_new',
} as TargetConfig;

/** A state recorded by recordMigration: what the API would show, with the run and the server time. */
interface Recorded {
  state: MigrationState;
  event: string | null;
  runId: string;
  atMs: number;
}

/** A reconcile the run started (the fake child asked for its verdict). */
interface Check {
  reportUid: string;
  targets: string[];
  repair: boolean;
  atMs: number;
}

/** One migration's control database and stores in memory, behind the workflow's activities. */
class FakeMigration {
  readonly records: Recorded[] = [];
  readonly reconciles: Check[] = [];
  readonly targetOps: string[] = [];
  /** The n-th soak check (1-based) waits at this gate before it answers. */
  hold: { check: number; gate: Gate } | null = null;

  constructor(readonly entityName: string) {}

  soakChecks(): Check[] {
    return this.reconciles.filter((c) => !c.repair);
  }

  /** The runs of the workflow, in the order they recorded a state. */
  runs(): string[] {
    return [...new Set(this.records.map((r) => r.runId))];
  }

  soakOf(record: Recorded): StepState {
    return record.state.steps.find((s) => s.step === 'soak')!;
  }
}

let bed: TestBed;
const fakes = new Map<string, FakeMigration>();
const fakeOf = (entityName: string) => {
  const fake = fakes.get(entityName);
  if (!fake) throw new Error(`no FakeMigration for entity ${entityName}`);
  return fake;
};
const now = () => bed.env.currentTimeMs();

const rolesAfter: Record<SetMigrationTargetsInput['op'], (from: string, to: string) => Record<string, string>> = {
  shadow: (from, to) => ({ [from]: 'primary', [to]: 'shadow' }),
  cutover: (from, to) => ({ [from]: 'secondary', [to]: 'primary' }),
  retire: (_from, to) => ({ [to]: 'primary' }),
  rollback: (from) => ({ [from]: 'primary' }),
};

const activities = {
  setMigrationTargets: async (input: SetMigrationTargetsInput) => {
    fakeOf(input.entityName).targetOps.push(input.op);
    return rolesAfter[input.op](input.from, input.to.name) as Record<string, TargetConfig['role']>;
  },
  recordMigration: async (input: Parameters<MigrationActivities['recordMigration']>[0]) => {
    fakeOf(input.state.entityName).records.push({
      state: structuredClone(input.state),
      event: input.event?.type ?? null,
      runId: Context.current().info.workflowExecution?.runId ?? '',
      atMs: await now(),
    });
  },
  fakeReconcileVerdict: async (input) => {
    const fake = fakeOf(input.entityName);
    const check: Check = {
      reportUid: input.reportUid,
      targets: input.targets ?? [],
      repair: input.repair === true,
      atMs: await now(),
    };
    fake.reconciles.push(check);
    if (fake.hold && !check.repair && fake.soakChecks().length === fake.hold.check) {
      await fake.hold.gate.wait(Context.current().cancellationSignal);
    }
    return true;
  },
} satisfies MigrationActivities & FakeReconcileActivities;

beforeAll(async () => {
  bed = await TestBed.start();
  const workflowBundle: WorkflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./support/migrate-workflows.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  await bed.startWorker(MIGRATE_QUEUE, () => ({}), { workflowBundle, activities });
});
afterAll(async () => {
  await bed?.teardown();
});

type Handle = WorkflowHandle<typeof migrateTarget>;

/** Starts migrateTarget as control/migrations.ts does (the first run builds no state: it is given one). */
async function startMigration(
  fake: FakeMigration,
  options: Pick<MigrateTargetRunInput, 'autoApprove' | 'soakMinutes' | 'soakCheckMinutes' | 'soakChecksPerRun'>,
): Promise<Handle> {
  fakes.set(fake.entityName, fake);
  const id = `migration-${fake.entityName}`;
  const at = new Date(await now()).toISOString();
  const state: MigrationState = {
    id,
    entityName: fake.entityName,
    workflowId: migrateWorkflowId(fake.entityName),
    from: FROM,
    to: TO.name,
    status: 'running',
    step: 'shadow',
    waitingFor: null,
    autoApprove: options.autoApprove,
    soakMinutes: options.soakMinutes,
    soakCheckMinutes: options.soakCheckMinutes,
    steps: initialSteps(),
    roles: { [FROM]: 'primary' },
    requested: null,
    error: null,
    createdAt: at,
    updatedAt: at,
  };
  return bed.env.client.workflow.start<typeof migrateTarget>(MIGRATE_WORKFLOW, {
    taskQueue: MIGRATE_QUEUE,
    workflowId: migrateWorkflowId(fake.entityName),
    args: [{ migrationId: id, entityName: fake.entityName, from: FROM, to: TO, ...options, state }],
  });
}

/** Terminates whatever still runs of the migration (a test that failed half-way). */
async function cleanUp(fake: FakeMigration) {
  await bed.env.client.workflow
    .getHandle(migrateWorkflowId(fake.entityName))
    .terminate('test over')
    .catch(() => {});
}

/** Fails fast (instead of at the test's timeout) when a promise the workflow should settle does not. */
const within = <T>(promise: Promise<T>, what: string, ms = 40_000): Promise<T> =>
  Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then((): never => {
      throw new Error(`timed out (${ms} ms real time) waiting for ${what}`);
    }),
  ]);

/** Each run's history: its number of events and how it closed (its last event's type). */
async function runHistories(fake: FakeMigration): Promise<Array<{ events: number; last: string }>> {
  const out: Array<{ events: number; last: string }> = [];
  for (const runId of fake.runs()) {
    const history = await bed.env.client.workflow.getHandle(migrateWorkflowId(fake.entityName), runId).fetchHistory();
    const events = history.events ?? [];
    const last = events.at(-1);
    out.push({
      events: events.length,
      last: last?.workflowExecutionContinuedAsNewEventAttributes
        ? 'continuedAsNew'
        : last?.workflowExecutionCompletedEventAttributes
          ? 'completed'
          : 'other',
    });
  }
  return out;
}

/** Once the soak started: one start time, one end, the run never waiting for an approval of the soak again. */
function expectSoakStartedOnce(fake: FakeMigration) {
  const first = fake.records.findIndex((r) => fake.soakOf(r).status === 'running');
  expect(first).toBeGreaterThanOrEqual(0);
  const during = fake.records.slice(first).filter((r) => r.state.status === 'running');
  const startedAt = fake.soakOf(fake.records[first]!).startedAt;
  expect(new Set(during.map((r) => fake.soakOf(r).startedAt))).toEqual(new Set([startedAt]));
  expect(new Set(during.map((r) => fake.soakOf(r).soak?.endsAt).filter(Boolean)).size).toBe(1);
  expect(during.filter((r) => r.state.waitingFor !== null || fake.soakOf(r).status === 'waiting')).toEqual([]);
  return { startedAtMs: Date.parse(startedAt!), firstRunId: fake.records[first]!.runId };
}

describe('a long soak', () => {
  it('continues as new between checks: every check once, at its planned time, ending when planned', async () => {
    const fake = new FakeMigration('soak-long');
    // 3 days of hourly checks: 72 checks in 8 runs of at most 10, the last with 2 (checks every 5 minutes, 864
    // in 9 runs of SOAK_CHECKS_PER_RUN, pass as well but take some 90 s of real time on 2 cores).
    const soakMinutes = 3 * 24 * 60;
    const every = 60;
    const perRun = 10;
    const handle = await startMigration(fake, {
      autoApprove: true,
      soakMinutes,
      soakCheckMinutes: every,
      soakChecksPerRun: perRun,
    });
    try {
      const result = await within(handle.result(), 'the migration to end', 100_000);
      expect(result).toMatchObject({ status: 'completed', step: 'done', requested: null, error: null });
      expect(result.roles).toEqual({ [TO.name]: 'primary' });
      expect(fake.targetOps).toEqual(['shadow', 'cutover', 'retire']);
      expect(result.steps.map((s) => `${s.step}:${s.status}`)).toEqual(migrationSteps.map((step) => `${step}:done`));

      // Every check once: 72 reconciles of both stores, each report once in the step, none lost or repeated.
      const expected = soakMinutes / every;
      const checks = fake.soakChecks();
      expect(checks).toHaveLength(expected);
      for (const check of checks) expect(check.targets).toEqual([TO.name, FROM]);
      const soak = result.steps.find((s) => s.step === 'soak')!;
      expect(soak.reconcileUids).toEqual(checks.map((c) => c.reportUid));
      expect(new Set(soak.reconcileUids).size).toBe(expected);
      expect(soak).toMatchObject({ clean: true, forced: false });
      expect(soak.soak).toMatchObject({ checks: expected, allClean: true });
      expect(soak.note).toMatch(new RegExp(`^${expected} check\\(s\\), all clean; last: `));

      // The soak's clock was set once, when it started (the step's start, then its record): the n-th check
      // n hours later, the last at its end, in whichever run.
      const { startedAtMs } = expectSoakStartedOnce(fake);
      const endsAtMs = Date.parse(soak.soak!.endsAt);
      const soakStartMs = endsAtMs - soakMinutes * MINUTE;
      expect(soakStartMs).toBeGreaterThanOrEqual(startedAtMs);
      expect(soakStartMs - startedAtMs).toBeLessThan(MINUTE);
      checks.forEach((check, i) => {
        const planned = soakStartMs + (i + 1) * every * MINUTE;
        expect(check.atMs, `check ${i + 1}`).toBeGreaterThanOrEqual(planned);
        expect(check.atMs - planned, `check ${i + 1}`).toBeLessThan(MINUTE);
      });
      expect(checks.at(-1)!.atMs).toBeGreaterThanOrEqual(endsAtMs);
      expect(checks.at(-1)!.atMs).toBeLessThan(endsAtMs + MINUTE);
      const retire = result.steps.find((s) => s.step === 'retire')!;
      expect(Date.parse(retire.startedAt!)).toBeGreaterThanOrEqual(endsAtMs);
      expect(Date.parse(retire.startedAt!)).toBeLessThan(endsAtMs + MINUTE);
      expect(Date.parse(soak.finishedAt!)).toBeLessThan(endsAtMs + MINUTE);

      // Several runs: continued as new in the middle of the soak, at most `perRun` checks each.
      const runs = fake.runs();
      expect(runs.length).toBeGreaterThanOrEqual(Math.ceil(expected / perRun));
      const checksPerRun = new Map<string, number>();
      for (const r of fake.records) {
        const n = fake.soakOf(r).soak?.checks ?? 0;
        checksPerRun.set(r.runId, Math.max(n, checksPerRun.get(r.runId) ?? 0));
      }
      const soakRuns = runs.filter((run) => fake.records.some((r) => r.runId === run && fake.soakOf(r).soak));
      expect(soakRuns.length).toBe(Math.ceil(expected / perRun));
      // The checks so far at each run's end: 10, 20, … 72 (each run went on from the state the last one left).
      expect(soakRuns.map((run) => checksPerRun.get(run))).toEqual(
        soakRuns.map((_, i) => Math.min(expected, (i + 1) * perRun)),
      );
      const histories = await runHistories(fake);
      expect(histories.slice(0, -1).every((h) => h.last === 'continuedAsNew')).toBe(true);
      expect(histories.at(-1)!.last).toBe('completed');
      expect(Math.max(...histories.map((h) => h.events))).toBeLessThan(2_500);

      // The step completed once, the migration ended once.
      const completed = fake.records.filter((r) => r.event === 'migration.step_completed');
      expect(completed.map((r) => r.state.step)).toEqual([...migrationSteps]);
      expect(fake.records.filter((r) => r.event === 'migration.ended')).toHaveLength(1);
    } finally {
      await cleanUp(fake);
    }
  }, 120_000);

  it('a rollback requested after a continue-as-new ends the soak as rolled_back; the soak gate asked once', async () => {
    const fake = new FakeMigration('soak-rollback');
    const gate = new Gate();
    fake.hold = { check: 25, gate }; // run 3 (10 checks a run)
    const handle = await startMigration(fake, {
      autoApprove: false,
      soakMinutes: 24 * 60,
      soakCheckMinutes: 30,
      soakChecksPerRun: 10,
    });
    try {
      for (const step of ['backfill', 'verify', 'cutover', 'soak']) {
        await until(
          async () => (await handle.query(migrationStateQuery)).waitingFor?.step === step,
          `the run to wait for an approval of ${step}`,
        );
        await handle.executeUpdate(approveMigrationUpdate, { args: [{ step }] });
      }
      const result = handle.result();
      await within(gate.reached, 'the 25th soak check');
      // The Web UI's current details say where the runbook stands, in the third run as in the first.
      const details = (await handle.query(workflowMetadataQuery)).currentDetails ?? '';
      expect(details.split('\n')[0]).toMatch(/running soak$/);
      expect(details).toMatch(/\| soak \| running \| 24 \|/);
      expect(details).toMatch(/\| cutover \| done \|/);
      const accepted = await handle.executeUpdate(rollbackMigrationUpdate);
      expect(accepted.requested).toBe('rollback');
      gate.open();
      const final = await within(result, 'the migration to end');

      expect(final).toMatchObject({ status: 'rolled_back', step: 'soak', requested: null, error: null });
      expect(final.roles).toEqual({ [FROM]: 'primary' });
      expect(fake.targetOps).toEqual(['shadow', 'cutover', 'rollback']);
      // Rolled back before retire: every step before it done (the soak ended with its last check), retire never ran.
      expect(final.steps.map((s) => `${s.step}:${s.status}`)).toEqual(
        migrationSteps.map((step) => `${step}:${step === 'retire' ? 'pending' : 'done'}`),
      );
      // The check under way when the rollback came ended; no check after it.
      const checks = fake.soakChecks();
      expect(checks).toHaveLength(25);
      const soak = final.steps.find((s) => s.step === 'soak')!;
      expect(soak.soak).toMatchObject({ checks: 25, allClean: true });
      expect(soak.reconcileUids).toEqual(checks.map((c) => c.reportUid));

      // Approved once: the runs after the first continue-as-new went on without asking for the soak's approval.
      const { firstRunId } = expectSoakStartedOnce(fake);
      const asked = fake.records.filter((r) => r.state.waitingFor?.step === 'soak');
      expect(new Set(asked.map((r) => r.runId))).toEqual(new Set([firstRunId]));
      const soakRuns = fake.runs().filter((run) => fake.records.some((r) => r.runId === run && fake.soakOf(r).soak));
      expect(soakRuns).toHaveLength(3);
      const lastRun = fake.records.at(-1)!.runId;
      expect(lastRun).toBe(soakRuns[2]);
      const histories = await runHistories(fake);
      expect(histories.slice(0, -1).every((h) => h.last === 'continuedAsNew')).toBe(true);
      expect(histories.at(-1)!.last).toBe('completed');
    } finally {
      await cleanUp(fake);
    }
  }, 120_000);
});
