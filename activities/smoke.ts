import type { ActivityDeps } from './deps.ts';

export function createSmokeActivities({ prisma }: ActivityDeps) {
  return {
    /** Writes one `smoke` event and returns its id (as a string: bigint does not cross the wire as JSON). */
    async recordSmokeEvent(message: string): Promise<string> {
      const event = await prisma.syncEvent.create({ data: { type: 'smoke', payload: { message } } });
      return event.id.toString();
    },
  };
}
export type SmokeActivities = ReturnType<typeof createSmokeActivities>;
