import type { TargetConfig } from '../connector-config.ts';

/**
 * A store migration as a runbook (workflows/migrate-target.ts runs it): the steps, what each one does to the
 * entity's targets, and when an approval, a rollback or an abort may be taken. Pure: no I/O.
 *
 * shadow   `to` joins the entity's targets with role `shadow`: written by every sync, never blocking the
 *          primary (as any non-primary), never to be read from by the applications.
 * backfill a full sync fills `to` from the source by upsert (DELTA decides per target: the others get nothing).
 * verify   reconcile `to` (with repair) until it is clean.
 * cutover  `to` becomes primary, `from` secondary: dual write continues, reads follow the primary.
 * soak     periodic reconciles of both for the soak time.
 * retire   `from` leaves the entity's targets: no more writes to it.
 */
export const migrationSteps = ['shadow', 'backfill', 'verify', 'cutover', 'soak', 'retire'] as const;
export type MigrationStep = (typeof migrationSteps)[number];
export type MigrationStatus = 'running' | 'completed' | 'rolled_back' | 'aborted' | 'failed';
export type StepStatus = 'pending' | 'running' | 'waiting' | 'done' | 'skipped';

export interface StepState {
  step: MigrationStep;
  status: StepStatus;
  startedAt: string | null;
  finishedAt: string | null;
  /** The reconcile reports the step ran (verify, soak) or was gated on (cutover, retire). */
  reconcileUids: string[];
  /** The last reconcile's verdict; null when the step ran none. */
  clean: boolean | null;
  /** Approved with `force` although its gate (a clean reconcile) was not met. */
  forced: boolean;
  note: string | null;
  /**
   * The soak's progress (the soak step only, from its start): carried across continue-as-new, so a long soak
   * resumes where it was. Absent before the soak starts, and in a run started before it was kept.
   */
  soak?: SoakProgress;
}

/** Where a soak stands: its end, set once from workflow time when it starts, and its checks so far. */
export interface SoakProgress {
  /** When the soak ends (ISO, workflow time): its start plus `soakMinutes`; never moved by a continue-as-new. */
  endsAt: string;
  /** The soak reconciles run so far (all runs). */
  checks: number;
  /** Every check so far was clean (true before the first). */
  allClean: boolean;
  /** The last check's summary; null before the first. */
  last: string | null;
}

export interface MigrationState {
  id: string;
  entityName: string;
  workflowId: string;
  from: string;
  to: string;
  status: MigrationStatus;
  /** The step running or waiting; `done` once the runbook ended. */
  step: MigrationStep | 'done';
  waitingFor: { step: MigrationStep; reason: 'approval' | 'clean_reconcile' } | null;
  autoApprove: boolean;
  soakMinutes: number;
  soakCheckMinutes: number;
  steps: StepState[];
  /** The entity's target roles as this runbook last set them. */
  roles: Record<string, TargetConfig['role']>;
  /** A rollback or abort accepted and not yet carried out (it waits for the running step's work to end). */
  requested: 'rollback' | 'abort' | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export const initialSteps = (): StepState[] =>
  migrationSteps.map((step) => ({
    step,
    status: 'pending',
    startedAt: null,
    finishedAt: null,
    reconcileUids: [],
    clean: null,
    forced: false,
    note: null,
  }));

/** Steps that need a clean reconcile of an earlier step (unless forced): cutover the verify's, retire the soak's. */
const gatedOnParity: Partial<Record<MigrationStep, MigrationStep>> = { cutover: 'verify', retire: 'soak' };

/** The step whose reconcile gates `step`, with its state; null when `step` has no parity gate. */
export function parityGateOf(state: Pick<MigrationState, 'steps'>, step: MigrationStep): StepState | null {
  const checked = gatedOnParity[step];
  return checked ? (state.steps.find((s) => s.step === checked) ?? null) : null;
}

/** Why `approve(step, force)` cannot be taken now; null when it can. */
export function approvalRefusal(state: MigrationState, step: string, force: boolean): string | null {
  if (state.status !== 'running') return `the migration has ended (${state.status})`;
  if (state.requested) return `a ${state.requested} is under way`;
  if (!migrationSteps.includes(step as MigrationStep)) return `no step "${step}" (steps: ${migrationSteps.join(', ')})`;
  if (state.waitingFor === null || state.waitingFor.step !== step) {
    const now = state.waitingFor ? `it waits for "${state.waitingFor.step}"` : `step "${state.step}" is running`;
    return `step "${step}" is not the one awaiting approval: ${now}`;
  }
  const gate = parityGateOf(state, step as MigrationStep);
  if (gate && gate.clean !== true && !force) {
    return `the last reconcile of step "${gate.step}" is not clean${gate.note ? ` (${gate.note})` : ''}: approve "${step}" with force to go ahead anyway`;
  }
  return null;
}

/** Why a rollback cannot be taken now; null when it can. */
export function rollbackRefusal(state: MigrationState): string | null {
  if (state.status !== 'running') return `the migration has ended (${state.status})`;
  if (state.requested) return `a ${state.requested} is already under way`;
  const retire = state.steps.find((s) => s.step === 'retire');
  if (retire && retire.status !== 'pending' && retire.status !== 'waiting') {
    return `"${state.from}" is retired: it has taken no writes since, so the previous roles cannot be restored`;
  }
  return null;
}

export const abortRefusal = (state: MigrationState): string | null =>
  state.status !== 'running'
    ? `the migration has ended (${state.status})`
    : state.requested
      ? `a ${state.requested} is already under way`
      : null;

/** A markdown cell: one line, no column breaks. */
const cell = (text: string | null | undefined) => (text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|');

/**
 * The runbook as the Temporal Web UI shows it (the workflow's current details, markdown): where it stands, each
 * step's status, verdict and note, and the roles it set.
 */
export function migrationDetails(state: MigrationState): string {
  const where =
    state.status !== 'running'
      ? state.status
      : state.waitingFor
        ? `waiting at ${state.waitingFor.step} for ${state.waitingFor.reason === 'approval' ? 'an approval' : 'a clean reconcile or an approval with force'}`
        : `running ${state.step}`;
  const lines = [
    `**${cell(state.entityName)}: ${cell(state.from)} → ${cell(state.to)}**, ${where}${state.requested ? ` (${state.requested} requested)` : ''}`,
    '',
    '| step | status | reconciles | clean | note |',
    '| --- | --- | ---: | --- | --- |',
    ...state.steps.map(
      (s) =>
        `| ${s.step} | ${s.status}${s.forced ? ' (forced)' : ''} | ${s.soak?.checks ?? s.reconcileUids.length} | ${s.clean === null ? '' : s.clean ? 'yes' : 'no'} | ${cell(s.note)} |`,
    ),
    '',
    `roles: ${Object.entries(state.roles)
      .map(([name, role]) => `${cell(name)} ${role}`)
      .join(', ')}`,
  ];
  if (state.error) lines.push('', `error: ${cell(state.error)}`);
  return lines.join('\n');
}

export class MigrationConfigError extends Error {
  override readonly name = 'MigrationConfigError';
}

const target = (targets: readonly TargetConfig[], name: string): TargetConfig => {
  const found = targets.find((t) => t.name === name);
  if (!found) throw new MigrationConfigError(`the entity has no target "${name}"`);
  return found;
};

/**
 * The entity's targets after a step (or a rollback): `original` is the list the migration started from, `current`
 * what the entity holds now. Idempotent: applying a step twice gives the same list.
 */
export function targetsAfter(
  op: 'shadow' | 'cutover' | 'retire' | 'rollback',
  current: readonly TargetConfig[],
  original: readonly TargetConfig[],
  from: string,
  to: TargetConfig,
): TargetConfig[] {
  switch (op) {
    case 'shadow':
      return current.some((t) => t.name === to.name)
        ? current.map((t) => (t.name === to.name ? { ...t, role: 'shadow' } : t))
        : [...current, { ...to, role: 'shadow' }];
    case 'cutover':
      target(current, from);
      return current.map((t) =>
        t.name === to.name
          ? { ...t, role: 'primary' }
          : t.name === from
            ? { ...t, role: 'secondary' }
            : t.role === 'primary'
              ? { ...t, role: 'secondary' }
              : t,
      );
    case 'retire':
      target(current, to.name);
      return current.filter((t) => t.name !== from);
    case 'rollback':
      // The roles the entity had when the migration started; `to` leaves (its identity rows stay, unused).
      return original.map((t) => ({ ...t }));
  }
}

/** A target's roles by name, for the view. */
export const rolesOf = (targets: readonly TargetConfig[]): Record<string, TargetConfig['role']> =>
  Object.fromEntries(targets.map((t) => [t.name, t.role]));
