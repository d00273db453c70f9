import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// Prisma 6.19 with the JS (WebAssembly) schema engine: works offline, no engine download.
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url)
      throw new Error(
        'DATABASE_URL is not set: run Prisma through `npm run prisma -- <command>` so SyncFlow can resolve the database.',
      );
    return new PrismaPg({ connectionString: url });
  },
});
