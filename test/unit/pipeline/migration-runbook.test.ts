import { describe, expect, it } from 'vitest';
import type { TargetConfig } from '../../../pipeline/connector-config.ts';
import {
  abortRefusal,
  approvalRefusal,
  initialSteps,
  type MigrationState,
  migrationDetails,
  rollbackRefusal,
  targetsAfter,
} from '../../../pipeline/migration/runbook.ts';

const main: TargetConfig = {
  type: 'postgres',
  name: 'main',
  role: 'primary',
  connection: 'db',
  schema: 'public',
  table: 't',
};
const copy: TargetConfig = { ...main, name: 'copy', role: 'secondary', table: 'c' };
const hub: TargetConfig = {
  type: 'schedulehub',
  name: 'hub',
  role: 'primary',
  connection: 'planning',
  resource: 'items',
  batchSize: 100,
} as TargetConfig;

const state = (overrides: Partial<MigrationState> = {}): MigrationState => ({
  id: '00000000-0000-4000-8000-000000000000',
  entityName: 'items',
  workflowId: 'migrate-items',
  from: 'main',
  to: 'hub',
  status: 'running',
  step: 'backfill',
  waitingFor: { step: 'backfill', reason: 'approval' },
  autoApprove: false,
  soakMinutes: 60,
  soakCheckMinutes: 15,
  steps: initialSteps(),
  roles: { main: 'primary', hub: 'shadow' },
  requested: null,
  error: null,
  createdAt: '2026-12-02T00:00:00.000Z',
  updatedAt: '2026-12-02T00:00:00.000Z',
  ...overrides,
});
const withStep = (s: MigrationState, step: string, patch: object) => ({
  ...s,
  steps: s.steps.map((x) => (x.step === step ? { ...x, ...patch } : x)),
});

describe('migration runbook: the targets each step leaves', () => {
  it('shadow adds `to` as a shadow, cutover swaps the primary, retire removes `from`, rollback restores', () => {
    const original = [main, copy];
    const shadowed = targetsAfter('shadow', original, original, 'main', hub);
    expect(shadowed.map((t) => `${t.name}:${t.role}`)).toEqual(['main:primary', 'copy:secondary', 'hub:shadow']);
    const cut = targetsAfter('cutover', shadowed, original, 'main', hub);
    expect(cut.map((t) => `${t.name}:${t.role}`)).toEqual(['main:secondary', 'copy:secondary', 'hub:primary']);
    const retired = targetsAfter('retire', cut, original, 'main', hub);
    expect(retired.map((t) => `${t.name}:${t.role}`)).toEqual(['copy:secondary', 'hub:primary']);
    expect(targetsAfter('rollback', cut, original, 'main', hub)).toEqual(original);
  });

  it('each step applied twice gives the same targets (a retried activity)', () => {
    const original = [main];
    for (const op of ['shadow', 'cutover', 'retire'] as const) {
      let current: TargetConfig[] = original;
      if (op !== 'shadow') current = targetsAfter('shadow', current, original, 'main', hub);
      if (op === 'retire') current = targetsAfter('cutover', current, original, 'main', hub);
      const once = targetsAfter(op, current, original, 'main', hub);
      expect(targetsAfter(op, once, original, 'main', hub)).toEqual(once);
    }
  });

  it('a cutover or retire whose target is missing is an error, not a silent change', () => {
    expect(() => targetsAfter('cutover', [hub], [main], 'main', hub)).toThrow(/no target "main"/);
    expect(() => targetsAfter('retire', [main], [main], 'main', hub)).toThrow(/no target "hub"/);
  });
});

describe('migration runbook: what may be asked when', () => {
  it('approves only the step it waits for', () => {
    expect(approvalRefusal(state(), 'backfill', false)).toBeNull();
    expect(approvalRefusal(state(), 'cutover', false)).toMatch(
      /not the one awaiting approval: it waits for "backfill"/,
    );
    expect(approvalRefusal(state({ waitingFor: null }), 'backfill', false)).toMatch(/step "backfill" is running/);
    expect(approvalRefusal(state(), 'teleport', false)).toMatch(/no step "teleport"/);
    expect(approvalRefusal(state({ status: 'completed' }), 'backfill', false)).toMatch(/ended \(completed\)/);
  });

  it('a cutover needs the verify reconcile clean, or force', () => {
    const atCutover = state({ step: 'cutover', waitingFor: { step: 'cutover', reason: 'clean_reconcile' } });
    const dirty = withStep(atCutover, 'verify', { status: 'done', clean: false, note: 'hub missing 3' });
    expect(approvalRefusal(dirty, 'cutover', false)).toMatch(/not clean \(hub missing 3\).*force/);
    expect(approvalRefusal(dirty, 'cutover', true)).toBeNull();
    expect(approvalRefusal(withStep(atCutover, 'verify', { clean: true }), 'cutover', false)).toBeNull();
  });

  it('a retire needs the soak clean, or force', () => {
    const atRetire = state({ step: 'retire', waitingFor: { step: 'retire', reason: 'clean_reconcile' } });
    expect(approvalRefusal(withStep(atRetire, 'soak', { clean: false }), 'retire', false)).toMatch(
      /"soak" is not clean/,
    );
    expect(approvalRefusal(withStep(atRetire, 'soak', { clean: true }), 'retire', false)).toBeNull();
  });

  it('a rollback before retire; refused once retire ran, after the end, or twice', () => {
    expect(rollbackRefusal(state())).toBeNull();
    expect(rollbackRefusal(withStep(state(), 'retire', { status: 'waiting' }))).toBeNull();
    expect(rollbackRefusal(withStep(state(), 'retire', { status: 'running' }))).toMatch(/"main" is retired/);
    expect(rollbackRefusal(state({ status: 'completed' }))).toMatch(/ended/);
    expect(rollbackRefusal(state({ requested: 'rollback' }))).toMatch(/already under way/);
    expect(abortRefusal(state())).toBeNull();
    expect(abortRefusal(state({ status: 'rolled_back' }))).toMatch(/ended \(rolled_back\)/);
    expect(approvalRefusal(state({ requested: 'abort' }), 'backfill', false)).toMatch(/abort is under way/);
  });
});

describe('migration runbook: what the Temporal Web UI shows', () => {
  it('names where the runbook stands, each step with its checks, verdict and note, and the roles', () => {
    let s = withStep(state(), 'shadow', { status: 'done' });
    s = withStep(s, 'verify', { status: 'done', reconcileUids: ['a', 'b'], clean: true, note: 'round 2: hub | clean' });
    s = withStep(s, 'soak', {
      status: 'running',
      clean: false,
      soak: { endsAt: '2026-12-09T00:00:00.000Z', checks: 7, allClean: false, last: 'hub missing 1' },
    });
    const details = migrationDetails({ ...s, step: 'soak', waitingFor: null });
    expect(details.split('\n')[0]).toBe('**items: main → hub**, running soak');
    expect(details).toContain('| shadow | done | 0 |  |  |');
    // A note's own `|` cannot break the table.
    expect(details).toContain('| verify | done | 2 | yes | round 2: hub \\| clean |');
    expect(details).toContain('| soak | running | 7 | no |');
    expect(details).toContain('roles: main primary, hub shadow');
    expect(migrationDetails(state()).split('\n')[0]).toBe('**items: main → hub**, waiting at backfill for an approval');
    const ended = migrationDetails(state({ status: 'failed', error: 'boom' }));
    expect(ended.split('\n')[0]).toBe('**items: main → hub**, failed');
    expect(ended).toContain('error: boom');
  });
});
