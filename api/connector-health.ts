import { createSource, createTarget } from '../connectors/factory.ts';
import type { StoredEntity } from '../db/entities.ts';
import { type ProbeResult, probe } from './probe.ts';

/**
 * The health of an entity's source and each of its targets, through the
 * connectors' own health(); a connector that cannot even be built (a secret's
 * variable unset) is reported unhealthy with the reason, never thrown.
 */
export interface ConnectorHealth extends ProbeResult {
  type: string;
}

async function check(
  build: () => { health(): Promise<{ ok: boolean; detail?: string }>; close(): Promise<void> },
  type: string,
): Promise<ConnectorHealth> {
  let connector: ReturnType<typeof build> | undefined;
  let detail: string | undefined;
  const result = await probe(async () => {
    connector = build();
    const health = await connector.health();
    if (!health.ok) {
      detail = health.detail ?? 'unhealthy';
      throw new Error(detail);
    }
  }, 5_000);
  await connector?.close().catch(() => undefined);
  return { type, ...result };
}

export async function entityConnectorHealth(entity: StoredEntity, databaseUrl: string | undefined) {
  const ctx = databaseUrl ? { databaseUrl } : {};
  const { source, targets } = entity.config;
  const [sourceHealth, ...targetHealth] = await Promise.all([
    check(() => createSource(source, ctx), source.type),
    ...targets.map((t) => check(() => createTarget(t, ctx), t.type)),
  ]);
  return {
    name: entity.name,
    source: sourceHealth!,
    targets: targets.map((t, i) => ({ name: t.name, role: t.role, ...targetHealth[i]! })),
  };
}
