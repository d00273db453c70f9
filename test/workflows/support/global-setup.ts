import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import './provided.ts';
import { InfraError } from '../../../infra/errors.ts';
import { resolveTestServer } from '../../../scripts/ensure-test-server.ts';
import { workflowsPath } from '../../../worker/create-worker.ts';

/**
 * The workflows project runs the real sync workflows on the Java time-skipping test server with mocked
 * activities. Once per run: find (or build and cache, like CI does) the test server, and bundle the workflow
 * code the worker loads (worker/create-worker.ts's workflowsPath), so each file starts only its own server.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  let server: Awaited<ReturnType<typeof resolveTestServer>>;
  try {
    server = await resolveTestServer({ log: (m) => console.log(`[workflows setup] ${m}`) });
  } catch (error) {
    throw new Error(error instanceof InfraError ? error.describe() : String(error), { cause: error });
  }
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  console.log(`[workflows setup] test server ${server.path} (${server.origin}), bundle in ${Date.now() - started} ms`);
  project.provide('testServerPath', server.path);
  project.provide('workflowBundleCode', bundle.code);
}
