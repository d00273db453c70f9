import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ConnectionSecretError, connectionConfigSchema } from '../../connectors/connections.ts';
import { SecretBoxError } from '../../connectors/secret-box.ts';
import {
  ConnectionInUseError,
  deleteConnection,
  getConnection,
  listConnections,
  saveConnection,
} from '../../db/connections.ts';
import { CONNECTION_NAME } from '../../pipeline/connector-config.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError, fieldErrors } from '../errors.ts';
import { readJsonObject } from '../json-body.ts';
import { access } from '../roles.ts';
import { errorResponses, jsonContent } from '../schemas/common.ts';

/**
 * Named connections (admin keys only): where sources and targets live and
 * how to log in. Entities name them; nothing else in the API can point
 * SyncFlow at a host, database, folder or environment variable. Secrets go in
 * and never come out: inline values are sealed at rest and shown as `***`, and
 * `***` sent back keeps the stored value (a GET → PUT round trip changes nothing).
 */
const tags = ['Connections'];

const connectionParamSchema = z.object({
  name: z
    .string()
    .regex(CONNECTION_NAME.pattern, CONNECTION_NAME.message)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'erp' }),
});

const connectionSchema = z
  .object({
    name: z.string(),
    type: z.string().openapi({ example: 'apismith' }),
    description: z.string().nullable(),
    config: z.record(z.string(), z.unknown()).openapi({
      example: {
        type: 'apismith',
        baseUrl: 'https://erp.example.com',
        auth: { username: { env: 'SYNCFLOW_SECRET_ERP_USER' }, password: { value: '***' } },
      },
    }),
    version: z.number().int(),
    usedBy: z.array(z.string()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Connection', { description: 'A named connection; inline secrets are shown as ***.' });

const connectionBody = {
  required: true,
  content: jsonContent(
    z
      .object({
        type: z.enum(['postgres', 'apismith', 'schedulehub', 'files']),
        description: z.string().max(1000).optional(),
      })
      .passthrough()
      .openapi('ConnectionConfig', {
        description:
          'postgres: { url, maxConnections?, statementTimeoutMs? }; apismith / schedulehub: { baseUrl, auth: { username, password } }; ' +
          'files: { root }. A secret is { "env": "SYNCFLOW_SECRET_…" } or { "value": "…" } (sealed at rest; "***" keeps the stored one).',
      }),
  ),
};

type View = NonNullable<Awaited<ReturnType<typeof getConnection>>>;
const view = (c: View) => ({
  ...c,
  config: c.config as Record<string, unknown>,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

export function connectionRoutes(deps: ApiDeps) {
  const app = new OpenAPIHono();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      ...access('configure'),
      tags,
      summary: 'List connections (secrets as ***)',
      responses: {
        200: {
          description: 'Every connection',
          content: jsonContent(z.object({ connections: z.array(connectionSchema) })),
        },
        ...errorResponses(503),
      },
    }),
    async (c) => c.json({ connections: (await listConnections(deps.prisma)).map(view) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/connections/{name}',
      ...access('configure'),
      tags,
      summary: 'Get a connection (secrets as ***)',
      request: { params: connectionParamSchema },
      responses: {
        200: { description: 'The connection', content: jsonContent(connectionSchema) },
        ...errorResponses(400, 404, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const found = await getConnection(deps.prisma, name);
      if (!found) throw new ApiError(404, 'not_found', `No connection named "${name}".`);
      return c.json(view(found), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/connections/{name}',
      ...access('configure'),
      tags,
      summary: 'Create or replace a connection ("***" keeps a stored secret)',
      request: { params: connectionParamSchema, body: connectionBody },
      responses: {
        200: { description: 'Replaced', content: jsonContent(connectionSchema) },
        201: { description: 'Created', content: jsonContent(connectionSchema) },
        ...errorResponses(400, 409, 413, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const { description, ...body } = await readJsonObject(c);
      const parsed = connectionConfigSchema.safeParse(body);
      const described = z.string().max(1000).optional().safeParse(description);
      if (!parsed.success || !described.success) {
        const issues = [
          ...(parsed.success ? [] : fieldErrors(parsed.error.issues)),
          ...(described.success ? [] : [{ field: 'description', message: 'a string of at most 1000 characters' }]),
        ];
        throw new ApiError(400, 'validation_failed', 'The connection is invalid.', issues);
      }
      try {
        const saved = await saveConnection(
          deps.prisma,
          { name, config: parsed.data, description: described.data },
          deps.secrets,
        );
        return c.json(view(saved.connection), saved.created ? 201 : 200);
      } catch (error) {
        if (error instanceof ConnectionInUseError) {
          throw new ApiError(409, 'connection_in_use', error.message, { usedBy: error.usedBy });
        }
        if (error instanceof ConnectionSecretError || error instanceof SecretBoxError) {
          const field = error instanceof ConnectionSecretError ? (error.message.split(':')[0] ?? '(body)') : '(body)';
          throw new ApiError(400, 'validation_failed', error.message, [{ field, message: error.message }]);
        }
        throw error;
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{name}',
      ...access('configure'),
      tags,
      summary: 'Delete a connection no entity uses',
      request: { params: connectionParamSchema },
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses(400, 404, 409, 503),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const result = await deleteConnection(deps.prisma, name);
      if (result.usedBy.length > 0) {
        throw new ApiError(409, 'connection_in_use', `Connection "${name}" is used by ${result.usedBy.join(', ')}.`, {
          usedBy: result.usedBy,
        });
      }
      if (!result.deleted) throw new ApiError(404, 'not_found', `No connection named "${name}".`);
      return c.body(null, 204);
    },
  );

  return app;
}
