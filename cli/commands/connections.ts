import type { Command } from 'commander';
import type { ApiClient } from '../api-client.ts';
import { readNamedDocuments } from '../json-file.ts';
import { print, table } from '../output.ts';

interface ConnectionView {
  name: string;
  type: string;
  description: string | null;
  version: number;
  usedBy: string[];
  config: Record<string, unknown>;
}

/**
 * `syncflow connections …` (admin keys): where sources and targets live and how to log in. A file holds
 * `{ "name": "erp", "type": "apismith", "baseUrl": …, "auth": { … } }` or an array of them; secrets as
 * `{ "env": "SYNCFLOW_SECRET_…" }` (read by the worker) or `{ "value": "…" }` (sealed at rest).
 */
export function registerConnections(program: Command, api: () => ApiClient) {
  const connections = program.command('connections').description('Named connections (admin keys only)');

  connections
    .command('apply')
    .description('Create or replace connections from a JSON file (one or an array); "***" keeps a stored secret')
    .requiredOption('-f, --file <path>', 'the JSON file')
    .action(async (opts: { file: string }) => {
      for (const { name, ...config } of await readNamedDocuments(opts.file, 'connection')) {
        const saved = await api().put<ConnectionView>(`/connections/${encodeURIComponent(String(name))}`, config);
        print(`Saved ${saved.name} (${saved.type}, version ${saved.version})`);
      }
    });

  connections
    .command('list')
    .description('Every connection')
    .action(async () => {
      const { connections: list } = await api().get<{ connections: ConnectionView[] }>('/connections');
      print(
        table(
          ['NAME', 'TYPE', 'VERSION', 'USED BY', 'DESCRIPTION'],
          list.map((c) => [c.name, c.type, c.version, c.usedBy.join(', ') || '-', c.description ?? '']),
        ),
      );
    });

  connections
    .command('show')
    .description('A connection (secrets shown as ***)')
    .argument('<name>')
    .action(async (name: string) => {
      print(JSON.stringify(await api().get<ConnectionView>(`/connections/${encodeURIComponent(name)}`), null, 2));
    });

  connections
    .command('delete')
    .description('Delete a connection no entity uses')
    .argument('<name>')
    .action(async (name: string) => {
      await api().delete(`/connections/${encodeURIComponent(name)}`);
      print(`Deleted ${name}.`);
    });
}
