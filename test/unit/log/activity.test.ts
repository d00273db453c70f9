import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { connectorLogger } from '../../../connectors/logger.ts';
import { logger } from '../../../log/logger.ts';
import { temporalLogger } from '../../../log/temporal.ts';
import { captureLogger } from './capture.ts';

const info = {
  activityType: 'fetchPage',
  activityId: '7',
  attempt: 3,
  workflowType: 'syncEntity',
  workflowExecution: { workflowId: 'sync-items', runId: 'run-1' },
};
const identity = {
  workflowId: 'sync-items',
  workflowRunId: 'run-1',
  workflowType: 'syncEntity',
  activityType: 'fetchPage',
  activityId: '7',
  attempt: 3,
};

describe('SyncFlow logger inside an activity', () => {
  it("Context.current().log (the SDK's activity logger) writes a line with workflowId, activityType and attempt", async () => {
    const { log, lines } = captureLogger();
    const env = new MockActivityEnvironment(info, { logger: temporalLogger(logger('temporal', log)) });
    await env.run(async () => {
      Context.current().log.info('page fetched', { rows: 500 });
    });
    const line = lines().find((l) => l.msg === 'page fetched');
    expect(line).toMatchObject({ level: 'info', logger: 'temporal', sdkComponent: 'activity', rows: 500, ...identity });
    expect(line).not.toHaveProperty('taskToken');
  });

  it("any SyncFlow logger used during an activity (a connector's) carries the activity's identity on its line", async () => {
    const { log, lines } = captureLogger();
    const connector = connectorLogger('apismith', logger('connectors', log));
    const env = new MockActivityEnvironment(info, { logger: temporalLogger(log) });
    await env.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1)); // still the activity's, across awaits
      connector.warn('apismith execute: retrying in 200 ms', { status: 503 });
    });
    connector.info('outside any activity');
    // The SDK's own lifecycle lines (Activity started / completed) are there too: pick SyncFlow's.
    const [inside, outside] = lines().filter((l) => l.logger === 'connectors');
    expect(inside).toMatchObject({
      level: 'warn',
      logger: 'connectors',
      connector: 'apismith',
      status: 503,
      ...identity,
    });
    expect(outside).toMatchObject({ msg: 'outside any activity' });
    expect(outside).not.toHaveProperty('workflowId');
    expect(outside).not.toHaveProperty('activityType');
  });
});
