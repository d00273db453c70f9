/**
 * The ScheduleHub sandbox in a process of its own for the sync benchmark (bench/lib/processes.ts forks it):
 * serves on a free port over DATABASE_URL, tells its parent the URL and this run's credentials over IPC,
 * and stops when the parent disconnects (or is gone).
 */
import { startSchedulehubSandbox } from '../../sandbox/index.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl || !process.send) {
  console.error('bench/lib/schedulehub-child.ts is started by bench/sync.ts (DATABASE_URL and an IPC channel).');
  process.exit(2);
}
// A token for the whole run (the connector renews it anyway); no request logging on stdout.
const sandbox = await startSchedulehubSandbox({ databaseUrl, tokenTtlSeconds: 3600, log: () => {} });
process.send({ url: sandbox.url, credentials: sandbox.credentials });
process.once('disconnect', () => {
  sandbox.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
