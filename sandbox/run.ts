import { startApismithSandbox } from './apismith/start.ts';
import { startSchedulehubSandbox } from './schedulehub/start.ts';

/**
 * Starts both SANDBOXES against DATABASE_URL until Ctrl-C, printing their URLs
 * and this run's credentials (sandbox credentials only: made up per run).
 * `DATABASE_URL=postgresql://... npx tsx sandbox/run.ts`
 * Ports: APISMITH_SANDBOX_PORT / SCHEDULEHUB_SANDBOX_PORT, else free ones.
 */
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('Set DATABASE_URL to the PostgreSQL database the sandboxes may store their data in.');
  process.exit(2);
}
const port = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
const apismith = await startApismithSandbox({ databaseUrl, port: port('APISMITH_SANDBOX_PORT') });
const schedulehub = await startSchedulehubSandbox({ databaseUrl, port: port('SCHEDULEHUB_SANDBOX_PORT') });
console.log(`[SANDBOX] APISmith credentials: ${apismith.credentials.username} / ${apismith.credentials.password}`);
console.log(
  `[SANDBOX] ScheduleHub credentials: ${schedulehub.credentials.username} / ${schedulehub.credentials.password}`,
);
const stop = async () => {
  await Promise.all([apismith.stop(), schedulehub.stop()]);
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
