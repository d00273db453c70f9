import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { entityConfigSchema } from '../../pipeline/entity-config.ts';

/**
 * The entity configuration in the OpenAPI document. zod-to-openapi cannot walk
 * the recursive JSON type of field defaults, so the component comes from zod's
 * own JSON Schema output (draft 2020-12, what OpenAPI 3.1 uses) of the very
 * schema parseEntityConfig validates with; its `$defs` become components.
 */
export const ENTITY_CONFIG_COMPONENT = 'EntityConfig';
const ref = (name: string) => `#/components/schemas/${name}`;

export function registerEntityConfigComponent(registry: OpenAPIHono['openAPIRegistry']) {
  const {
    $schema: _ignored,
    $defs,
    ...schema
  } = z.toJSONSchema(entityConfigSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown> & { $defs?: Record<string, unknown> };
  const names = new Map(Object.keys($defs ?? {}).map((key, i) => [key, i === 0 ? 'JsonValue' : `JsonValue${i}`]));
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) =>
          k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
            ? [k, ref(names.get(v.slice('#/$defs/'.length)) ?? 'JsonValue')]
            : [k, rewrite(v)],
        ),
      );
    }
    return value;
  };
  for (const [key, def] of Object.entries($defs ?? {})) {
    registry.registerComponent('schemas', names.get(key)!, rewrite(def) as never);
  }
  registry.registerComponent('schemas', ENTITY_CONFIG_COMPONENT, rewrite(schema) as never);
}

/** A request or response member that is an entity configuration (validated by parseEntityConfig, not here). */
export const entityConfigRef = z
  .record(z.string(), z.unknown())
  .openapi({ allOf: [{ $ref: ref(ENTITY_CONFIG_COMPONENT) }] } as never);

/** Request body content of the routes that take an entity configuration. */
export const entityConfigBody = {
  required: true,
  content: { 'application/json': { schema: { $ref: ref(ENTITY_CONFIG_COMPONENT) } } },
};
