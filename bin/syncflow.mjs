#!/usr/bin/env node
// The `syncflow` command: registers tsx (resolved next to this file, so it works from any directory) and runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main();
