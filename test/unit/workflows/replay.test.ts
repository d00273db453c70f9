import { readdirSync, readFileSync } from 'node:fs';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../../worker/create-worker.ts';
import { installWorkerRuntime } from '../../../worker/runtime.ts';
import { type History, historyFromJSON } from '../../support/history-json.ts';

/**
 * Replays the histories recorded from real runs (`npm run record:histories`, test/fixtures/histories/) against
 * the workflow code the worker loads today. A change of a workflow that would not replay an execution
 * recorded before it (commands reordered, added or removed without `patched()`) fails here with Temporal's
 * DeterminismViolationError, as it would fail every in-flight sync after a deploy. No Temporal server needed.
 */
const folder = new URL('../../fixtures/histories/', import.meta.url);
const files = readdirSync(folder)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (file: string) => historyFromJSON(JSON.parse(readFileSync(new URL(file, folder), 'utf8')));
const workflowType = (history: History) =>
  history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';

describe('recorded workflow histories replay against the current workflow code', () => {
  let workflowBundle: WorkflowBundle;
  beforeAll(async () => {
    installWorkerRuntime(); // the worker's runtime settings: SDK logs at WARN, no signal handlers of its own
    // The worker's own entry point (worker/create-worker.ts): the same bundle the worker runs.
    workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  }, 60_000);

  it('has histories of every sync workflow', () => {
    expect(new Set(files.map((f) => workflowType(load(f))))).toEqual(
      new Set([
        'syncEntity',
        'syncEntities',
        'retryWaitingChildren',
        'backgroundSync',
        'scheduledSync',
        'replayDeadLetters',
        'reconcile',
        'migrateTarget',
      ]),
    );
  });

  it.each(files)('%s', async (file) => {
    const history = load(file);
    const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? file;
    await Worker.runReplayHistory({ workflowBundle, replayName: file }, history, workflowId);
  });
});
