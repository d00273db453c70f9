import type { SmokeActivities } from './contract.ts';
import type { ActivityDeps } from './deps.ts';

export function createSmokeActivities({ prisma }: ActivityDeps): SmokeActivities {
  return {
    async recordSmokeEvent(message: string): Promise<string> {
      const event = await prisma.syncEvent.create({ data: { type: 'smoke', payload: { message } } });
      return event.id.toString();
    },
  };
}
