import { ApplicationFailure, Context } from '@temporalio/activity';
import { v7 as uuidv7 } from 'uuid';
import { countsOfBatch, readBatchMetricCounts } from '../db/batches.ts';
import { listEntities } from '../db/entities.ts';
import { recordEvent } from '../db/events.ts';
import { dropSeenKeys } from '../db/identity-store.ts';
import type {
  BatchActivities,
  BatchPlan,
  BatchSummary,
  BeginBatchInput,
  CircuitReading,
  FinalStatus,
  FinishBatchInput,
} from './contract.ts';
import type { WorkerContext } from './deps.ts';
import { connectorCall } from './failures.ts';

const isFinal = (status: string | undefined) => status === 'completed' || status === 'failed' || status === 'cancelled';

/** Whether the batch's `sync.started` event was recorded (by an earlier attempt of beginBatch). */
async function hasStartedEvent(prisma: WorkerContext['prisma'], batchUid: string): Promise<boolean> {
  return (
    (await prisma.syncEvent.findFirst({ where: { batchUid, type: 'sync.started' }, select: { id: true } })) !== null
  );
}

/** sync_batches lifecycle: pending → running → completed / failed / cancelled, with events. */
export function createBatchActivities(ctx: WorkerContext): BatchActivities {
  const { prisma } = ctx;
  return {
    /** Runs on the shared queue: whichever worker takes it hands back its own queue for the page stages. */
    async claimPageWorker(): Promise<string> {
      return ctx.pageQueue;
    },

    /** Idempotent: a retried start finds the row already running and answers the same plan. */
    async beginBatch(input: BeginBatchInput): Promise<BatchPlan> {
      const rt = await ctx.runtimes.get(input.entityName);
      const { config } = rt;
      const existing = await prisma.syncBatch.findUnique({ where: { uid: input.batchUid } });
      const running = { status: 'running', startedAt: existing?.startedAt ?? new Date(), workflowId: input.workflowId };
      const incremental = input.syncType === 'incremental' && rt.rowversionColumn !== undefined;
      const state = incremental
        ? await prisma.erpSyncState.findUnique({
            where: { entityName_sourceSystem: { entityName: input.entityName, sourceSystem: rt.sourceSystem } },
          })
        : null;
      const watermark = state?.lastSyncRowversion ?? null;
      if (!existing) {
        await prisma.syncBatch.create({
          data: {
            uid: input.batchUid,
            entityName: input.entityName,
            syncType: input.syncType,
            dryRun: input.dryRun,
            watermarkFrom: watermark,
            metrics: { configVersion: rt.stored.configVersion },
            ...running,
          },
        });
      } else if (existing.status === 'pending') {
        await prisma.syncBatch.update({
          where: { uid: input.batchUid },
          // What the starter put in the row's metrics (a background batch's night) is kept.
          data: {
            ...running,
            watermarkFrom: watermark,
            metrics: { ...(existing.metrics as object), configVersion: rt.stored.configVersion },
          },
        });
      }
      // Every attempt ensures every target (ensure is idempotent): an attempt that failed after marking the batch
      // running (a dropped connection, a secondary not reachable yet) must not leave a target unprepared for the
      // retry; skipping it once dead-lettered a whole secondary's records as target_unavailable.
      if (!input.dryRun && !isFinal(existing?.status)) {
        for (const target of config.targets) {
          Context.current().heartbeat();
          await connectorCall(() => rt.target(target.name).ensure(rt.targetFields));
        }
      }
      if (!existing || existing.status === 'pending' || !(await hasStartedEvent(prisma, input.batchUid))) {
        await recordEvent(prisma, {
          type: 'sync.started',
          entityName: input.entityName,
          batchUid: input.batchUid,
          payload: { syncType: input.syncType, dryRun: input.dryRun, workflowId: input.workflowId, watermark },
        });
      }
      const configVersion =
        (existing?.metrics as { configVersion?: number } | undefined)?.configVersion ?? rt.stored.configVersion;
      const fullSyncWatermark =
        input.syncType === 'full' && rt.rowversionColumn
          ? ((await connectorCall(async () => rt.source().maxRowversion?.(rt.rowversionColumn!))) ?? null)
          : null;
      const replay = input.syncType === 'replay';
      const selected = (existing?.metrics as { replay?: { selection?: { selected?: number } } } | undefined)?.replay
        ?.selection?.selected;
      const estimatedRows = replay
        ? (selected ?? null)
        : await rt
            .source()
            .estimateRowCount()
            .catch(() => null);
      const entities = await listEntities(prisma);
      return {
        configVersion,
        pageSize: config.pageSize,
        readMode: replay ? 'replay' : incremental ? 'incremental' : 'full',
        watermark,
        fullSyncWatermark,
        estimatedRows,
        hasParents: config.parents.length > 0,
        childWaitSeconds: config.childWaitSeconds,
        stageActivities: config.stageActivities,
        circuitBreaker: config.circuitBreaker ?? null,
        childEntities: entities
          .filter((e) => e.config.parents.some((p) => p.entity === input.entityName))
          .map((e) => e.name),
      };
    },

    /** A batch whose workflow never started (a group's child refused): it ends failed with the reason. */
    async abandonBatch(batchUid: string, reason: string): Promise<void> {
      const abandoned = await prisma.syncBatch.updateMany({
        where: { uid: batchUid, status: 'pending' },
        data: { status: 'failed', errorMessage: reason, completedAt: new Date() },
      });
      const batch = await prisma.syncBatch.findUnique({ where: { uid: batchUid } });
      if (abandoned.count > 0 && batch) {
        await recordEvent(prisma, {
          type: 'sync.failed',
          entityName: batch.entityName,
          batchUid,
          payload: { error: reason },
        });
      }
    },

    /** Paused by a signal, or by the circuit breaker (`circuit` says at what failure rate). */
    async setBatchPaused(batchUid: string, paused: boolean, circuit?: CircuitReading): Promise<void> {
      const batch = await prisma.syncBatch.update({
        where: { uid: batchUid },
        data: { status: paused ? 'paused' : 'running' },
      });
      if (circuit) {
        await recordEvent(prisma, { type: 'circuit.opened', entityName: batch.entityName, batchUid, payload: circuit });
      }
      await recordEvent(prisma, {
        type: paused ? 'sync.paused' : 'sync.resumed',
        entityName: batch.entityName,
        batchUid,
      });
    },

    async finishBatch(input: FinishBatchInput): Promise<BatchSummary> {
      const before = await prisma.syncBatch.findUnique({ where: { uid: input.batchUid } });
      if (!before) throw ApplicationFailure.nonRetryable(`No batch ${input.batchUid}`, 'BatchNotFound');
      const rt = await ctx.runtimes.get(before.entityName).catch(() => null);
      const unitCost = rt?.config.unitCost ?? 0;
      const calls = Object.values(input.targetCalls).reduce((a, b) => a + b, 0);
      const fetched = Number(before.totalFetched);
      const rowsPerSecond = input.elapsedMs > 0 ? Math.round((fetched / input.elapsedMs) * 1000) : 0;
      const { secondaryFailures } = await readBatchMetricCounts(ctx.pool, input.batchUid);
      // The counts follow the primary; what a secondary refused or could not take is dead-lettered there and
      // said here, so a batch never reads "failed 0" with records of it in the DLQ.
      const secondaryNotes = Object.entries(secondaryFailures).map(
        ([target, n]) => `${n} records failed on the secondary target ${target} (in the DLQ for ${target}).`,
      );
      const metrics = {
        ...(before.metrics as object),
        stages: input.stages,
        targetCalls: input.targetCalls,
        estimatedCost: calls * unitCost,
        rowsPerSecond,
        elapsedMs: input.elapsedMs,
        notes: [...input.notes, ...secondaryNotes.filter((note) => !input.notes.includes(note))],
      };
      const alreadyFinal = ['completed', 'failed', 'cancelled'].includes(before.status);
      const batch = await prisma.syncBatch.update({
        where: { uid: input.batchUid },
        data: alreadyFinal
          ? { metrics }
          : { status: input.status, completedAt: new Date(), errorMessage: input.error ?? null, metrics },
      });
      // A dry run's seen keys stay until the entity's next dry run (see wouldBePresent); others go now.
      await dropSeenKeys(ctx.pool, { batchUid: input.batchUid, entityName: before.entityName, dryRun: before.dryRun });
      const counts = countsOfBatch(batch);
      if (!alreadyFinal) {
        if (input.status === 'completed' && !batch.dryRun && rt) {
          const now = new Date();
          const watermark =
            batch.syncType === 'full' && input.fullSyncWatermark ? { lastSyncRowversion: input.fullSyncWatermark } : {};
          if (input.fullSyncWatermark)
            await prisma.syncBatch.update({
              where: { uid: batch.uid },
              data: { watermarkTo: input.fullSyncWatermark },
            });
          await prisma.erpSyncState.upsert({
            where: { entityName_sourceSystem: { entityName: batch.entityName, sourceSystem: rt.sourceSystem } },
            create: {
              uid: uuidv7(),
              entityName: batch.entityName,
              sourceSystem: rt.sourceSystem,
              lastSyncTimestamp: now,
              lastBatchUid: batch.uid,
              totalRecordsSynced: counts.inserted + counts.updated,
              ...watermark,
              ...(batch.syncType === 'full' ? { lastFullSyncAt: now } : {}),
            },
            update: {
              lastSyncTimestamp: now,
              lastBatchUid: batch.uid,
              totalRecordsSynced: { increment: counts.inserted + counts.updated },
              ...watermark,
              ...(batch.syncType === 'full' ? { lastFullSyncAt: now } : {}),
            },
          });
        }
        await recordEvent(prisma, {
          type: `sync.${input.status}`,
          entityName: batch.entityName,
          batchUid: input.batchUid,
          payload: {
            ...counts,
            ...(secondaryNotes.length > 0 ? { secondaryFailures } : {}),
            rowsPerSecond,
            elapsedMs: input.elapsedMs,
            ...(input.error ? { error: input.error } : {}),
          },
        });
      }
      return {
        batchUid: batch.uid,
        entityName: batch.entityName,
        status: batch.status as FinalStatus,
        dryRun: batch.dryRun,
        ...counts,
        rowsPerSecond,
        elapsedMs: input.elapsedMs,
        estimatedCost: calls * unitCost,
      };
    },
  };
}
