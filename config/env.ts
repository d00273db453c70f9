import { z } from 'zod';

/**
 * Every environment variable SyncFlow reads, validated once at start-up.
 * The README's table of variables is generated from the descriptions here
 * by hand; keep them in step.
 */
const port = z.coerce.number().int().min(1).max(65535);
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const envSchema = z.object({
  /** PostgreSQL for SyncFlow's own data; unset = embedded PostgreSQL under .syncflow/postgres. */
  DATABASE_URL: z.string().url().optional(),
  /** Port of the embedded PostgreSQL (only when DATABASE_URL is unset). */
  SYNCFLOW_PG_PORT: port.default(54329),
  /** Folder for the embedded PostgreSQL cluster, Temporal's SQLite file, pid files and logs. */
  SYNCFLOW_DATA_DIR: z.string().optional(),
  /** An existing Temporal frontend (host:port); unset = a Temporal CLI dev server. */
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** TLS for a real cluster: true, or client certificate + key paths (mTLS). */
  TEMPORAL_TLS: flag,
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  /** API key for Temporal Cloud (implies TLS). */
  TEMPORAL_API_KEY: z.string().optional(),
  /** Path to a `temporal` CLI binary to run the dev server with. */
  TEMPORAL_CLI_PATH: z.string().optional(),
  /** Dev server ports (only when TEMPORAL_ADDRESS is unset). */
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_TASK_QUEUE: z.string().default('syncflow'),
  /** Where the Temporal SDK serves the worker's own metrics (Prometheus, 127.0.0.1:<port>/metrics); 0 = off. */
  TEMPORAL_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /**
   * 32 random bytes (base64 or hex) that seal connections' inline secrets at rest. Unset: only
   * `{ env: "SYNCFLOW_SECRET_…" }` references work; `npm start` on embedded defaults keeps one in
   * its data folder.
   */
  SYNCFLOW_SECRET_KEY: z.string().optional(),
  /** The control API's port. */
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** The log level (log/logger.ts reads it; declared here so a wrong value is refused at start-up). */
  SYNCFLOW_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  /** The older name of SYNCFLOW_LOG_LEVEL, still read. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** `npm start` runs the demo (sandboxes, seed, syncs) unless this is false. */
  SYNCFLOW_DEMO: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Minutes between passes of the background retry (waiting children, due dead letters). */
  SYNCFLOW_RETRY_EVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(5),
  /** Dead letters one background retry pass replays per entity at most. */
  SYNCFLOW_RETRY_MAX_PER_ENTITY: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Ports of the demo's APISmith and ScheduleHub sandboxes (stable: the demo's entities store these URLs). */
  SYNCFLOW_APISMITH_PORT: port.default(3101),
  SYNCFLOW_SCHEDULEHUB_PORT: port.default(3102),
});
export type Env = z.infer<typeof envSchema>;

/** Parses the environment; a bad value stops start-up with the variable named. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // An empty variable (`DATABASE_URL=`) means unset, as in most tools.
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
