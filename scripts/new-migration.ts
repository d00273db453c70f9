import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { migrateDatabase } from '../infra/migrate.ts';
import { repoRoot } from '../infra/paths.ts';
import { startDatabase } from '../infra/postgres.ts';
import { run } from '../infra/process.ts';

/**
 * `npm run migration:new -- <name>`: writes the next Prisma migration from the
 * change to prisma/schema.prisma, offline.
 *
 * `prisma migrate dev` needs a shadow database that Prisma 6's JS engine cannot
 * drive; instead this diffs the schema snapshot of the last migration
 * (prisma/migrations/schema.snapshot.prisma) against the current schema, then
 * proves the result by applying every migration to a throwaway PostgreSQL.
 * Hand-written SQL (like the partial index in the first migration) survives,
 * because a schema-to-schema diff never sees it.
 */
const name = process.argv[2]?.replace(/[^a-z0-9_]+/gi, '_').toLowerCase();
if (!name) {
  console.error('Usage: npm run migration:new -- <name>   (e.g. add_reconcile_reports)');
  process.exit(2);
}
const migrationsDir = path.join(repoRoot, 'prisma', 'migrations');
const snapshot = path.join(migrationsDir, 'schema.snapshot.prisma');
const schema = path.join(repoRoot, 'prisma', 'schema.prisma');

const db = await startDatabase({ throwaway: true, port: 0 });
try {
  const prismaCli = path.join(repoRoot, 'node_modules', 'prisma', 'build', 'index.js');
  const diff = await run(
    process.execPath,
    [prismaCli, 'migrate', 'diff', '--from-schema-datamodel', snapshot, '--to-schema-datamodel', schema, '--script'],
    { cwd: repoRoot, env: { ...process.env, DATABASE_URL: db.url } },
  );
  if (diff.code !== 0) throw new Error(diff.stderr || diff.stdout);
  if (!/^\s*(CREATE|ALTER|DROP)/m.test(diff.stdout)) {
    console.log('prisma/schema.prisma matches the last migration: nothing to generate.');
  } else {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(migrationsDir, `${stamp}_${name}`);
    await mkdir(dir);
    await writeFile(path.join(dir, 'migration.sql'), diff.stdout);
    await copyFile(schema, snapshot);
    await migrateDatabase(db.url);
    console.log(`Wrote ${path.relative(repoRoot, dir)}/migration.sql (applied cleanly to a throwaway database).`);
    console.log('Review it, add any SQL Prisma cannot express, and commit it with the schema and the snapshot.');
  }
} finally {
  await db.stop();
}
