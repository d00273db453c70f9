import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app.ts';
import { createPool } from '../../../connectors/postgres/pool.ts';
import { createApiKey } from '../../../db/api-keys.ts';
import { createHarness, type Harness, LOCAL_CONNECTION } from '../../support/harness.ts';
import { createItemSource, itemEntity, itemRows, registerEntity, runSync } from '../../support/sync-fixtures.ts';
import { terminateAll } from './support.ts';

/**
 * The migration routes (api/routes/migrations.ts) over the real engine: POST /migrations, GET /migrations/{id},
 * GET /migrations?entity=, POST /migrations/{id}/approve | rollback | abort, with their refusals (400 naming the
 * field, 404, 409, 403), and GET /entities/{name} showing the targets' roles and the migration under way.
 */
describe('migrations API', () => {
  let h: Harness;
  let pool: pg.Pool;
  let app: ReturnType<typeof createApp>;
  const keys: Record<'admin' | 'operator' | 'viewer', string> = { admin: '', operator: '', viewer: '' };
  const schema = `mga_${randomUUID().slice(0, 8)}`;
  /** Synced once, with a primary `main` and a secondary `copy`; migrated to `next` and aborted. */
  const name = `items_${schema.slice(4)}`;
  /** Synced once; migrated and rolled back. */
  const back = `${name}_back`;
  /** Synced once, delete policy none (an extra record is only reported): its verify is not clean, cutover forced. */
  const forced = `${name}_forced`;
  const started: string[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  type Answer = { status: number; body: any; text: string };
  const call = async (
    method: string,
    path: string,
    options: { body?: unknown; raw?: string; key?: string } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? keys.admin}` };
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await app.request(`/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, text };
  };
  const post = (body: unknown, key?: string) => call('POST', '/migrations', { body, ...(key ? { key } : {}) });
  const fields = (answer: Answer) => (answer.body?.error?.details ?? []).map((d: { field: string }) => d.field);
  const toTarget = (entity: string, targetName = 'next') => ({
    type: 'postgres',
    name: targetName,
    connection: LOCAL_CONNECTION,
    schema,
    table: `${entity}_${targetName}`,
  });

  /** Polls the migration until `done(view)` holds. */
  async function until(id: string, done: (view: Answer['body']) => boolean, what: string) {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const answer = await call('GET', `/migrations/${id}`, { key: keys.viewer });
      expect(answer.status, answer.text).toBe(200);
      if (done(answer.body)) return answer.body;
      if (Date.now() > deadline) throw new Error(`migration ${id}: ${what} did not happen: ${answer.text}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    h = await createHarness('migrations-api');
    pool = createPool(h.databaseUrl);
    await createItemSource(pool, schema, itemRows(40));
    await registerEntity(
      h,
      itemEntity(name, schema, {
        targets: [
          { type: 'postgres', name: 'main', connection: LOCAL_CONNECTION, schema, table: `${name}_target` },
          {
            type: 'postgres',
            name: 'copy',
            role: 'secondary',
            connection: LOCAL_CONNECTION,
            schema,
            table: `${name}_copy`,
          },
        ],
      }),
    );
    await registerEntity(h, itemEntity(back, schema));
    await registerEntity(h, itemEntity(forced, schema, { deletePolicy: 'none' }));
    await h.prisma.entity.updateMany({ where: { name: { in: [name, back, forced] } }, data: { mode: 'live' } });
    await h.startWorker();
    app = createApp({ prisma: h.prisma, temporal: h.client, taskQueue: h.taskQueue, secrets: h.secrets });
    for (const role of ['admin', 'operator', 'viewer'] as const) {
      keys[role] = (await createApiKey(h.prisma, `migrations-${role}`, role)).key;
    }
    for (const entity of [name, back, forced]) {
      const [run] = await runSync(h, [entity], 'full', true);
      expect(run!.summary).toMatchObject({ status: 'completed', inserted: 40, failed: 0 });
    }
  });
  afterAll(async () => {
    await terminateAll(h.client, [...started, ...[name, back, forced].flatMap((e) => [`sync-${e}`, `migrate-${e}`])]);
    await pool?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool?.end();
    await h?.close();
  });

  it('answers 400 naming the field for a bad start body, never 500', async () => {
    const to = toTarget(name);
    const cases: Array<[unknown, string]> = [
      [{}, 'entity'],
      [{ entity: 'Not An Entity', from: 'main', to }, 'entity'],
      [{ entity: name, to }, 'from'],
      [{ entity: name, from: 7, to }, 'from'],
      [{ entity: name, from: 'main' }, 'to'],
      [{ entity: name, from: 'main', to: 'next' }, 'to'],
      [{ entity: name, from: 'main', to: { ...to, name: 'Not A Name' } }, 'to.name'],
      [{ entity: name, from: 'main', to: { ...to, table: undefined } }, 'to.table'],
      [{ entity: name, from: 'main', to: { ...to, extra: 1 } }, 'to.extra'],
      [{ entity: name, from: 'main', to, autoApprove: 'yes' }, 'autoApprove'],
      [{ entity: name, from: 'main', to, soakMinutes: -1 }, 'soakMinutes'],
      [{ entity: name, from: 'main', to, soakMinutes: 'an hour' }, 'soakMinutes'],
      [{ entity: name, from: 'main', to, soakCheckMinutes: 0 }, 'soakCheckMinutes'],
      [{ entity: name, from: 'main', to, everything: true }, 'everything'],
      [[name], '(body)'],
      [null, '(body)'],
    ];
    for (const [body, field] of cases) {
      const answer = await post(body);
      expect(answer.status, `${JSON.stringify(body)}: ${answer.text}`).toBe(400);
      expect(answer.body.error.code, JSON.stringify(body)).toBe('validation_failed');
      expect(fields(answer).join(' '), JSON.stringify(body)).toContain(field);
    }
    // A `to` of no known type: 400 naming `to` (or its `type`), not a 500.
    const noType = await post({ entity: name, from: 'main', to: { ...to, type: 'oracle' } });
    expect(noType.status, noType.text).toBe(400);
    expect(fields(noType).join(' ')).toMatch(/\bto\b/);
    const malformed = await call('POST', '/migrations', { raw: '{"entity":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
  });

  it('answers 400 naming `from` for a target the entity lacks or that is not its primary, `to.name` for a name it has', async () => {
    const unknownFrom = await post({ entity: name, from: 'nowhere', to: toTarget(name) });
    expect(unknownFrom.status, unknownFrom.text).toBe(400);
    expect(fields(unknownFrom)).toContain('from');
    const secondary = await post({ entity: name, from: 'copy', to: toTarget(name) });
    expect(secondary.status, secondary.text).toBe(400);
    expect(fields(secondary)).toContain('from');
    for (const taken of ['main', 'copy']) {
      const duplicate = await post({ entity: name, from: 'main', to: toTarget(name, taken) });
      expect(duplicate.status, duplicate.text).toBe(400);
      expect(fields(duplicate), taken).toContain('to.name');
    }
    // Nothing was started by the refusals.
    const list = await call('GET', `/migrations?entity=${name}`, { key: keys.viewer });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
  });

  it('answers 404 for an unknown entity and an unknown migration, 400 for a bad approval body', async () => {
    const entity = await post({ entity: 'no_such_entity', from: 'main', to: toTarget('no_such_entity') });
    expect(entity.status, entity.text).toBe(404);
    expect(entity.body.error.code).toBe('entity_not_found');
    for (const id of [randomUUID(), 'not-a-migration']) {
      const one = await call('GET', `/migrations/${id}`, { key: keys.viewer });
      expect(one.status, `${id}: ${one.text}`).toBe(404);
      for (const action of ['rollback', 'abort']) {
        const answer = await call('POST', `/migrations/${id}/${action}`);
        expect(answer.status, `${action} ${id}: ${answer.text}`).toBe(404);
      }
      const approve = await call('POST', `/migrations/${id}/approve`, { body: { step: 'cutover' } });
      expect(approve.status, approve.text).toBe(404);
    }
    const id = randomUUID();
    for (const [body, field] of [
      [{}, 'step'],
      [{ step: 'launch' }, 'step'],
      [{ step: 'cutover', force: 'yes' }, 'force'],
      [{ step: 'cutover', now: true }, 'now'],
    ] as Array<[unknown, string]>) {
      const answer = await call('POST', `/migrations/${id}/approve`, { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(fields(answer), JSON.stringify(body)).toContain(field);
    }
    const badQuery = await call('GET', '/migrations?entity=Bad-Name', { key: keys.viewer });
    expect(badQuery.status).toBe(400);
    expect(fields(badQuery)).toContain('entity');
  });

  it('needs an admin key to start, approve, roll back and abort; a viewer reads', async () => {
    const id = randomUUID();
    for (const role of ['viewer', 'operator'] as const) {
      const start = await post({ entity: name, from: 'main', to: toTarget(name) }, keys[role]);
      expect(start.status, role).toBe(403);
      expect(start.body.error.details).toEqual({ requiredRole: 'admin', role });
      for (const action of ['approve', 'rollback', 'abort']) {
        const answer = await call('POST', `/migrations/${id}/${action}`, { body: { step: 'shadow' }, key: keys[role] });
        expect(answer.status, `${role} ${action}`).toBe(403);
      }
    }
    expect((await call('GET', '/migrations', { key: keys.viewer })).status).toBe(200);
    expect((await call('GET', `/migrations/${id}`, { key: keys.viewer })).status).toBe(404);
    expect((await app.request('/api/v1/migrations')).status).toBe(401);
  });

  it('starts a migration (202), shows it step by step and on the entity, refuses a second one and an approval of a step not reached, and aborts it', async () => {
    const answer = await post({ entity: name, from: 'main', to: toTarget(name) });
    expect(answer.status, answer.text).toBe(202);
    expect(answer.body).toEqual({ id: expect.any(String), workflowId: `migrate-${name}`, entityName: name });
    started.push(answer.body.workflowId);
    const { id } = answer.body;

    const again = await post({ entity: name, from: 'main', to: toTarget(name, 'other') });
    expect(again.status, again.text).toBe(409);

    // The shadow step runs at once; without autoApprove the run then waits for an approval of backfill.
    const waiting = await until(id, (m) => m.waitingFor !== null, 'a wait for an approval');
    expect(waiting).toMatchObject({
      id,
      entityName: name,
      workflowId: `migrate-${name}`,
      from: 'main',
      to: 'next',
      status: 'running',
      autoApprove: false,
      soakMinutes: 60,
      soakCheckMinutes: 15,
      error: null,
      requested: null,
      waitingFor: { step: 'backfill', reason: 'approval' },
    });
    expect(waiting.steps[0]).toMatchObject({ step: 'shadow', status: 'done', startedAt: expect.any(String) });
    expect(waiting.steps[1]).toMatchObject({ step: 'backfill', status: 'waiting' });
    expect(waiting.steps.map((s: { step: string }) => s.step)).toEqual([
      'shadow',
      'backfill',
      'verify',
      'cutover',
      'soak',
      'retire',
    ]);
    expect(waiting.roles).toEqual({ main: 'primary', copy: 'secondary', next: 'shadow' });

    // An approval for a step the run has not reached: 409 with the reason.
    const early = await call('POST', `/migrations/${id}/approve`, { body: { step: 'retire' } });
    expect(early.status, early.text).toBe(409);
    expect(early.body.error.message).toMatch(/retire/);

    // The entity shows its targets' roles and the migration under way.
    const entity = await call('GET', `/entities/${name}`, { key: keys.viewer });
    expect(entity.status, entity.text).toBe(200);
    expect(entity.body.migration).toMatchObject({ id, status: 'running', step: waiting.step });
    expect(entity.body.roles).toEqual({ main: 'primary', copy: 'secondary', next: 'shadow' });
    expect(entity.body.primary).toBe('main');

    const list = await call('GET', `/migrations?entity=${name}`, { key: keys.viewer });
    expect(list.status).toBe(200);
    expect(list.body.items.map((m: { id: string }) => m.id)).toEqual([id]);
    const all = await call('GET', '/migrations', { key: keys.viewer });
    expect(all.body.items.map((m: { id: string }) => m.id)).toContain(id);

    // Approving the step it waits at carries it on: the backfill (a full sync) fills `next`, then it waits at verify.
    const approved = await call('POST', `/migrations/${id}/approve`, { body: { step: 'backfill' } });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.body.id).toBe(id);
    const atVerify = await until(id, (m) => m.waitingFor?.step === 'verify', 'a wait at verify');
    expect(atVerify.steps[1]).toMatchObject({
      step: 'backfill',
      status: 'done',
      note: expect.stringContaining('full sync'),
    });
    const twiceApproved = await call('POST', `/migrations/${id}/approve`, { body: { step: 'backfill' } });
    expect(twiceApproved.status, twiceApproved.text).toBe(409);

    const aborted = await call('POST', `/migrations/${id}/abort`);
    expect(aborted.status, aborted.text).toBe(200);
    expect(aborted.body).toMatchObject({ id, requested: 'abort' });
    // Once accepted, nothing more is: a second abort, a rollback, an approval.
    const twice = await call('POST', `/migrations/${id}/abort`);
    expect(twice.status, twice.text).toBe(409);
    expect(twice.body.error.message).toContain('abort');
    const ended = await until(id, (m) => m.status !== 'running', 'the abort');
    expect(ended).toMatchObject({ status: 'aborted', requested: null, waitingFor: null });
    // Aborted where it was: `next` stays a shadow target of the entity.
    expect(ended.roles).toEqual({ main: 'primary', copy: 'secondary', next: 'shadow' });
    for (const [action, body] of [
      ['abort', undefined],
      ['rollback', undefined],
      ['approve', { step: 'verify' }],
    ] as const) {
      const answer = await call('POST', `/migrations/${id}/${action}`, body ? { body } : {});
      expect(answer.status, `${action}: ${answer.text}`).toBe(409);
      expect(answer.body.error.message, action).toContain('aborted');
    }
    const after = await call('GET', `/entities/${name}`, { key: keys.viewer });
    expect(after.body.migration).toBeNull();
    expect(after.body.roles).toEqual({ main: 'primary', copy: 'secondary', next: 'shadow' });
  });

  it('rolls a migration back: the previous roles by configuration, `to` gone from the targets', async () => {
    const answer = await post({ entity: back, from: 'main', to: toTarget(back), soakMinutes: 1, soakCheckMinutes: 1 });
    expect(answer.status, answer.text).toBe(202);
    started.push(answer.body.workflowId);
    const { id } = answer.body;
    const waiting = await until(id, (m) => m.waitingFor !== null, 'a wait');
    expect(waiting).toMatchObject({ soakMinutes: 1, soakCheckMinutes: 1 });
    expect(waiting.roles).toEqual({ main: 'primary', next: 'shadow' });
    const rolled = await call('POST', `/migrations/${id}/rollback`);
    expect(rolled.status, rolled.text).toBe(200);
    expect(rolled.body).toMatchObject({ id, requested: 'rollback' });
    const ended = await until(id, (m) => m.status !== 'running', 'the rollback');
    expect(ended).toMatchObject({ status: 'rolled_back', requested: null, roles: { main: 'primary' } });
    expect(Object.keys(ended.roles)).toEqual(['main']);
    const entity = await call('GET', `/entities/${back}`, { key: keys.viewer });
    expect(entity.body.config.targets.map((t: { name: string }) => t.name)).toEqual(['main']);
    expect(entity.body.roles).toEqual({ main: 'primary' });
    expect(entity.body.migration).toBeNull();
    const list = await call('GET', `/migrations?entity=${back}`, { key: keys.viewer });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ id, status: 'rolled_back' });
  });

  it('refuses a cutover whose verify is not clean unless forced, records the force, then rolls back before retire', async () => {
    const answer = await post({ entity: forced, from: 'main', to: toTarget(forced), soakMinutes: 0 });
    expect(answer.status, answer.text).toBe(202);
    started.push(answer.body.workflowId);
    const { id } = answer.body;
    await until(id, (m) => m.waitingFor?.step === 'backfill', 'a wait at backfill');
    expect((await call('POST', `/migrations/${id}/approve`, { body: { step: 'backfill' } })).status).toBe(200);
    await until(id, (m) => m.waitingFor?.step === 'verify', 'a wait at verify');
    // A record only `next` holds: the repair may not delete it (delete policy none), so no verify round is clean.
    await pool.query(
      `INSERT INTO ${schema}.${forced}_next (erp_key_hash, erp_data_hash, erp_ref_str, part_no, plant)
       VALUES (md5('extra-1'), md5('x') || md5('y'), 'part_no=X-1|plant=DE01', 'X-1', 'DE01')`,
    );
    expect((await call('POST', `/migrations/${id}/approve`, { body: { step: 'verify' } })).status).toBe(200);
    const gated = await until(id, (m) => m.waitingFor?.step === 'cutover', 'a wait at cutover');
    expect(gated.waitingFor).toEqual({ step: 'cutover', reason: 'clean_reconcile' });
    const verify = gated.steps.find((s: { step: string }) => s.step === 'verify');
    expect(verify).toMatchObject({ status: 'done', clean: false, forced: false });
    expect(verify.reconcileUids.length).toBeGreaterThanOrEqual(1);
    const report = await call('GET', `/reconcile/${verify.reconcileUids.at(-1)}`, { key: keys.viewer });
    expect(report.body.targets[0]).toMatchObject({ target: 'next', extra: 1, clean: false });

    const refused = await call('POST', `/migrations/${id}/approve`, { body: { step: 'cutover' } });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'migration_refused' });
    expect(refused.body.error.message).toMatch(/not clean.*force/);
    const force = await call('POST', `/migrations/${id}/approve`, { body: { step: 'cutover', force: true } });
    expect(force.status, force.text).toBe(200);
    const cut = await until(
      id,
      (m) => m.steps.find((s: { step: string }) => s.step === 'cutover').status === 'done',
      'the cutover',
    );
    expect(cut.steps.find((s: { step: string }) => s.step === 'cutover')).toMatchObject({ forced: true });
    expect(cut.roles).toEqual({ main: 'secondary', next: 'primary' });
    const entity = await call('GET', `/entities/${forced}`, { key: keys.viewer });
    expect(entity.body).toMatchObject({ primary: 'next', roles: { main: 'secondary', next: 'primary' } });

    // Rollback after the cutover, before retire: main primary again, next gone.
    const rolled = await call('POST', `/migrations/${id}/rollback`);
    expect(rolled.status, rolled.text).toBe(200);
    const ended = await until(id, (m) => m.status !== 'running', 'the rollback');
    expect(ended).toMatchObject({ status: 'rolled_back', roles: { main: 'primary' } });
    const after = await call('GET', `/entities/${forced}`, { key: keys.viewer });
    expect(after.body).toMatchObject({ primary: 'main', roles: { main: 'primary' }, migration: null });
    expect(after.body.config.targets.map((t: { name: string }) => t.name)).toEqual(['main']);
  });
});
