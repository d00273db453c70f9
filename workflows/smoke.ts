import { proxyActivities } from '@temporalio/workflow';
import type { SmokeActivities } from '../activities/contract.ts';

const { recordSmokeEvent } = proxyActivities<SmokeActivities>({ startToCloseTimeout: '30 seconds' });

/** The smallest end-to-end path: a workflow whose activity writes through Prisma. Used by the smoke test. */
export async function smokeWorkflow(message: string): Promise<{ eventId: string; message: string }> {
  const eventId = await recordSmokeEvent(message);
  return { eventId, message };
}
