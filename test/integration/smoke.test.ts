import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeWorkflow } from '../../workflows/smoke.ts';
import { createHarness, type Harness } from '../support/harness.ts';

describe('smoke: real PostgreSQL + real Temporal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('smoke');
    await h.startWorker();
  });
  afterAll(() => h.close());

  it('runs a workflow whose activity writes a row through Prisma', async () => {
    const message = `hello ${Date.now()}`;
    const result = await h.client.workflow.execute(smokeWorkflow, {
      args: [message],
      taskQueue: h.taskQueue,
      workflowId: `smoke-${Date.now()}`,
    });
    expect(result.message).toBe(message);
    const row = await h.prisma.syncEvent.findUniqueOrThrow({ where: { id: BigInt(result.eventId) } });
    expect(row.type).toBe('smoke');
    expect(row.payload).toEqual({ message });
  });

  it('the migrations created every table of the data model', async () => {
    const tables = await h.prisma.$queryRaw<Array<{ tablename: string }>>`
      SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining([
        'api_keys',
        'background_sync_schedule',
        'entities',
        'erp_sync_state',
        'failed_records',
        'field_mappings',
        'identity_records',
        'pending_children',
        'sync_batches',
        'sync_events',
      ]),
    );
    const [partial] = await h.prisma.$queryRaw<Array<{ indexdef: string }>>`
      SELECT indexdef FROM pg_indexes WHERE indexname = 'failed_records_next_retry_at_idx'`;
    expect(partial?.indexdef).toContain('WHERE (resolved_at IS NULL)');
  });
});
