import { z } from 'zod';
import type { ConnectorLogger } from '../logger.ts';
import type { HttpTuning } from '../types.ts';
import { JsonHttpClient } from './json-client.ts';
import type { RateLimiter } from './token-bucket.ts';
import { type IssuedToken, TokenSession } from './token-session.ts';

/**
 * The token protocol APISmith and ScheduleHub share (docs/contracts/*.openapi.yaml):
 * POST /api/v1/auth/token with username/password, POST /api/v1/auth/refresh
 * with the refresh token; both answer a bearer token and its lifetime.
 */
export const tokenRequestSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });
export const refreshRequestSchema = z.object({ refresh_token: z.string().min(1) });
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.literal('Bearer'),
  expires_in: z.number().positive(),
  refresh_token: z.string().min(1).optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export const TOKEN_PATH = '/api/v1/auth/token';
export const REFRESH_PATH = '/api/v1/auth/refresh';

export interface Credentials {
  username: string;
  password: string;
}

function toIssued(response: TokenResponse): IssuedToken {
  return { accessToken: response.access_token, expiresIn: response.expires_in, refreshToken: response.refresh_token };
}

/** Gives the client a self-renewing bearer token for these credentials. */
export function attachTokenAuth(
  http: JsonHttpClient,
  credentials: Credentials,
  options: { refreshSkewMs?: number; onRenew?: (how: 'login' | 'refresh') => void } = {},
): TokenSession {
  const session = new TokenSession({
    refreshSkewMs: options.refreshSkewMs,
    onRenew: options.onRenew,
    login: async () =>
      toIssued(
        await http.request({
          operation: 'login',
          method: 'POST',
          path: TOKEN_PATH,
          body: credentials,
          schema: tokenResponseSchema,
          auth: false,
        }),
      ),
    refresh: async (refreshToken) =>
      toIssued(
        await http.request({
          operation: 'refresh token',
          method: 'POST',
          path: REFRESH_PATH,
          body: { refresh_token: refreshToken },
          schema: tokenResponseSchema,
          auth: false,
        }),
      ),
  });
  http.useAuth(session);
  return session;
}

/** A JSON client for one of the token-protocol systems, tuned by the context and already authenticated. */
export function authenticatedClient(options: {
  connector: string;
  baseUrl: string;
  credentials: Credentials;
  logger: ConnectorLogger;
  tuning?: HttpTuning;
  rateLimiter?: RateLimiter;
}): JsonHttpClient {
  const tuning = options.tuning ?? {};
  const http = new JsonHttpClient({
    connector: options.connector,
    baseUrl: options.baseUrl,
    logger: options.logger,
    retry: tuning.retry,
    timeoutMs: tuning.timeoutMs,
    onRetry: tuning.onRetry,
    rateLimiter: options.rateLimiter,
  });
  attachTokenAuth(http, options.credentials, { refreshSkewMs: tuning.refreshSkewMs, onRenew: tuning.onTokenRenew });
  return http;
}

/** GET /api/v1/health, open on both systems. */
export function healthCheck<T>(http: JsonHttpClient, schema: z.ZodType<T>): Promise<T> {
  return http.request({ operation: 'health', method: 'GET', path: '/api/v1/health', schema, auth: false });
}
