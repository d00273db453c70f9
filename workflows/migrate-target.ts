import {
  ApplicationFailure,
  allHandlersFinished,
  ChildWorkflowFailure,
  ContinueAsNew,
  condition,
  continueAsNew,
  executeChild,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchSummary } from '../activities/contract.ts';
import type { MigrationActivities } from '../activities/migration.ts';
import {
  abortRefusal,
  approvalRefusal,
  type MigrationState,
  type MigrationStep,
  migrationDetails,
  migrationSteps,
  parityGateOf,
  rollbackRefusal,
  type SoakProgress,
  type StepState,
} from '../pipeline/migration/runbook.ts';
import type { ReconcileOutcome } from '../pipeline/reconcile/types.ts';
import {
  abortMigrationUpdate,
  approveMigrationUpdate,
  type MigrateTargetInput,
  migrationStateQuery,
  reconcileWorkflowId,
  rollbackMigrationUpdate,
} from './contract.ts';
import { reconcile } from './reconcile.ts';
import { type ScheduledSyncSkipped, scheduledSync } from './scheduled-sync.ts';

const { setMigrationTargets, recordMigration } = proxyActivities<MigrationActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Rounds of reconcile-with-repair the verify step runs before it waits for a forced approval. */
const VERIFY_ROUNDS = 3;
/** A backfill that finds a sync of the entity running tries again after this long. */
const BUSY_RETRY_MS = 60_000;
/**
 * A soak continues as new after this many checks in one run (about 15 history events a check, a child
 * reconcile among them), or sooner when Temporal suggests it: a multi-week soak keeps each run's history small.
 */
export const SOAK_CHECKS_PER_RUN = 100;

/** The reconcile uids a step keeps in the migration's state (the newest). */
export const RECONCILE_UIDS_KEPT = 100;
/**
 * patched() id of the resumable continue-as-new: the soak's progress kept in the state, a continue-as-new between
 * checks, and a continue-as-new (at a step boundary too) that ends the run instead of failing the migration (the
 * catch below took it for an error). A run started before it (replayed: no marker) behaves as it did.
 */
const CONTINUE_AS_NEW_PATCH = 'migrate-target-resumable-continue-as-new';

export interface MigrateTargetRunInput extends MigrateTargetInput {
  /** Soak checks per run before a continue-as-new (default SOAK_CHECKS_PER_RUN); tests set a small one. */
  soakChecksPerRun?: number;
}

/**
 * A store migration as a durable runbook (workflow id `migrate-<entity>`, pipeline/migration/runbook.ts has the
 * steps): shadow → backfill → verify → cutover → soak → retire. Every step after the first waits for an
 * approval Update, or with `autoApprove` goes ahead on its own when its gate is met (cutover: the verify step's
 * reconcile clean; retire: every soak reconcile clean); a gate that is not met waits for an approval with
 * `force`, which the state records. A rollback (any step before retire) restores the targets the entity had
 * when the migration started; an abort ends it with the targets as they are. Both wait for the running step's
 * work (a sync, a reconcile) to end. The state is recorded in `migrations` at each transition (the API) and
 * answered by the `migrationState` query. The run continues as new at a step boundary, and in the middle of a
 * long soak between two checks (SOAK_CHECKS_PER_RUN): the soak's end and checks are in the state, and a step
 * carried over `running` resumes without its gate (passed in the earlier run).
 */
export async function migrateTarget(input: MigrateTargetRunInput): Promise<MigrationState> {
  const state = input.state;
  const approvals = new Map<MigrationStep, boolean>();
  const interrupted = () => state.requested !== null;
  const stepState = (step: MigrationStep): StepState => state.steps.find((s) => s.step === step)!;
  const now = () => new Date(Date.now()).toISOString();
  const record = async (event?: Parameters<typeof recordMigration>[0]['event']) => {
    state.updatedAt = now();
    // The Web UI's current details (answered by a query: no command, nothing to replay).
    setCurrentDetails(migrationDetails(state));
    await recordMigration({ state, ...(event ? { event } : {}) });
  };

  setHandler(migrationStateQuery, () => state);
  setHandler(
    approveMigrationUpdate,
    ({ step, force }) => {
      approvals.set(step as MigrationStep, force === true);
      state.waitingFor = null; // the answer shows the approval taken
      return state;
    },
    {
      validator: ({ step, force }) => {
        const refusal = approvalRefusal(state, step, force === true);
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(
    rollbackMigrationUpdate,
    () => {
      state.requested = 'rollback';
      return state;
    },
    {
      validator: () => {
        const refusal = rollbackRefusal(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(
    abortMigrationUpdate,
    () => {
      state.requested = 'abort';
      return state;
    },
    {
      validator: () => {
        const refusal = abortRefusal(state);
        if (refusal) throw new Error(refusal);
      },
    },
  );

  /** A reconcile of `targets` as a child workflow; its verdict, or null with why when it did not finish. */
  const reconcileOf = async (
    targets: string[],
    repair: boolean,
    step: StepState,
  ): Promise<{ clean: boolean; summary: string }> => {
    const reportUid = uuid4();
    // The newest RECONCILE_UIDS_KEPT only: a soak of weeks would carry every uid in each state it records and in
    // each continue-as-new input (GET /reconcile?entity= lists them all).
    step.reconcileUids = [...step.reconcileUids, reportUid].slice(-RECONCILE_UIDS_KEPT);
    await record();
    try {
      const outcome: ReconcileOutcome = await executeChild(reconcile, {
        workflowId: reconcileWorkflowId(reportUid),
        args: [{ reportUid, entityName: input.entityName, targets, repair }],
      });
      return { clean: outcome.clean, summary: summaryOf(outcome) };
    } catch (error) {
      if (!(error instanceof ChildWorkflowFailure)) throw error;
      return { clean: false, summary: `reconcile ${reportUid} did not finish: ${causeOf(error)}` };
    }
  };

  /** Waits until `step` may run: an approval (or auto-approval on a met gate). False when interrupted. */
  const gate = async (step: MigrationStep): Promise<boolean> => {
    const s = stepState(step);
    const checked = parityGateOf(state, step);
    const met = checked === null || checked.clean === true;
    if (!(input.autoApprove && met)) {
      s.status = 'waiting';
      state.step = step;
      state.waitingFor = { step, reason: met ? 'approval' : 'clean_reconcile' };
      await record();
      await condition(() => approvals.has(step) || interrupted());
      state.waitingFor = null;
      if (interrupted()) return false;
      s.forced = approvals.get(step) === true && !met;
    }
    return true;
  };

  const run = async (step: MigrationStep): Promise<void> => {
    const s = stepState(step);
    const resumed = s.status === 'running'; // continued as new in the middle of the step: it started before
    s.status = 'running';
    if (!resumed) s.startedAt = now();
    state.step = step;
    await record();
    switch (step) {
      case 'shadow':
      case 'cutover':
      case 'retire':
        state.roles = await setMigrationTargets({
          migrationId: state.id,
          entityName: input.entityName,
          op: step,
          from: input.from,
          to: input.to,
        });
        break;
      case 'backfill':
        s.note = await backfill();
        break;
      case 'verify':
        for (let round = 1; round <= VERIFY_ROUNDS && !interrupted(); round++) {
          const verdict = await reconcileOf([input.to.name], true, s);
          s.clean = verdict.clean;
          s.note = `round ${round}: ${verdict.summary}`;
          if (verdict.clean) break;
        }
        break;
      case 'soak':
        s.note = await soak(s);
        break;
    }
    s.status = 'done';
    s.finishedAt = now();
    await record({
      type: 'migration.step_completed',
      payload: { step, clean: s.clean, forced: s.forced, roles: state.roles },
    });
  };

  /** A full sync fills `to` by upsert (DELTA per target: the others get only what they lack). */
  const backfill = async (): Promise<string> => {
    for (let attempt = 1; !interrupted(); attempt++) {
      const result = await executeChild(scheduledSync, {
        workflowId: `${workflowInfo().workflowId}-backfill-${uuid4()}`,
        args: [{ entityName: input.entityName, syncType: 'full' }],
      });
      if (result.skipped !== true) {
        const summary = result as BatchSummary;
        // The batch's counts follow the primary (which already held everything); verify checks what `to` holds.
        return `full sync ${summary.batchUid} ${summary.status} (its counts follow the primary: ${summary.inserted} inserted, ${summary.updated} updated there)`;
      }
      // A sync (or background load) of the entity is running: try again when it may have ended.
      stepState('backfill').note =
        `attempt ${attempt}: ${(result as ScheduledSyncSkipped).reason}; trying again in a minute`;
      await record();
      await condition(interrupted, BUSY_RETRY_MS);
    }
    return 'interrupted before the backfill ran';
  };

  /**
   * Reconciles both stores every soakCheckMinutes for soakMinutes (at least once); clean when every check was.
   * Its progress is in the step's state (`soak`): after SOAK_CHECKS_PER_RUN checks in this run (or when Temporal
   * suggests it) the run continues as new between two checks, and the next run goes on with the same end.
   */
  const soak = async (s: StepState): Promise<string> => {
    const resumable = patched(CONTINUE_AS_NEW_PATCH);
    const progress: SoakProgress = s.soak ?? {
      endsAt: new Date(Date.now() + input.soakMinutes * 60_000).toISOString(),
      checks: 0,
      allClean: true,
      last: null,
    };
    if (resumable) s.soak = progress;
    const endsAt = Date.parse(progress.endsAt);
    const checksPerRun = input.soakChecksPerRun ?? SOAK_CHECKS_PER_RUN;
    let checksThisRun = 0;
    do {
      const wait = Math.min(input.soakCheckMinutes * 60_000, endsAt - Date.now());
      if (wait > 0 && (await condition(interrupted, wait))) break;
      const verdict = await reconcileOf([input.to.name, input.from], false, s);
      progress.checks++;
      progress.allClean &&= verdict.clean;
      progress.last = verdict.summary;
      s.clean = progress.allClean;
      s.note = `${progress.checks} check(s), ${progress.allClean ? 'all clean' : 'not all clean'}; last: ${progress.last}`;
      await record();
      checksThisRun++;
      const more = Date.now() < endsAt && !interrupted();
      if (resumable && more && (checksThisRun >= checksPerRun || workflowInfo().continueAsNewSuggested)) {
        // As at a step boundary: never with a rollback or abort to carry out; no Update handler left running.
        await condition(allHandlersFinished);
        if (!interrupted()) await continueAsNew<typeof migrateTarget>({ ...input, state });
      }
    } while (Date.now() < endsAt && !interrupted());
    return s.note ?? 'no check ran';
  };

  try {
    for (const step of migrationSteps) {
      if (stepState(step).status === 'done') continue; // carried across continue-as-new
      if (interrupted()) break;
      // A step carried over `running` (continued as new in its middle) passed its gate in an earlier run.
      if (step !== 'shadow' && stepState(step).status !== 'running' && !(await gate(step))) break;
      await run(step);
      if (workflowInfo().continueAsNewSuggested && !interrupted()) {
        await continueAsNew<typeof migrateTarget>({ ...input, state });
      }
    }
    if (state.requested === 'rollback') {
      state.roles = await setMigrationTargets({
        migrationId: state.id,
        entityName: input.entityName,
        op: 'rollback',
        from: input.from,
        to: input.to,
      });
      state.status = 'rolled_back';
    } else if (state.requested === 'abort') {
      state.status = 'aborted';
    } else {
      state.status = 'completed';
      state.step = 'done';
    }
  } catch (error) {
    if (error instanceof ContinueAsNew && patched(CONTINUE_AS_NEW_PATCH)) throw error; // the next run goes on
    state.status = 'failed';
    state.error = causeOf(error);
  }
  for (const s of state.steps) if (s.status === 'running' || s.status === 'waiting') s.status = 'pending';
  state.waitingFor = null;
  state.requested = null;
  await record({ type: 'migration.ended', payload: { status: state.status, step: state.step, error: state.error } });
  if (state.status === 'failed') throw ApplicationFailure.nonRetryable(state.error ?? 'failed', 'MigrationFailed');
  return state;
}

const causeOf = (error: unknown): string => {
  let e: unknown = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
};

const summaryOf = (outcome: ReconcileOutcome): string =>
  outcome.targets
    .map(
      (t) =>
        `${t.target} ${t.clean ? 'clean' : `missing ${t.missing}, extra ${t.extra}, different ${t.different}, orphans ${t.orphans}${t.unverifiedSegments.length > 0 ? `, ${t.unverifiedSegments.length} segment(s) unverified` : ''}`}`,
    )
    .join('; ');
