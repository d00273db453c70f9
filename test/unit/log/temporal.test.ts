import { describe, expect, it } from 'vitest';
import { logger } from '../../../log/logger.ts';
import { temporalLogger } from '../../../log/temporal.ts';
import { sdkLevelFor } from '../../../worker/runtime.ts';
import { captureLogger } from './capture.ts';

describe("the Temporal SDK's logger adapter", () => {
  it('maps every SDK level onto pino and keeps the metadata as fields', () => {
    const { log, lines } = captureLogger('trace');
    const sdk = temporalLogger(logger('temporal', log));
    const meta = { sdkComponent: 'workflow', workflowId: 'sync-items', runId: 'r1', workflowType: 'syncEntity' };
    sdk.trace('t', meta);
    sdk.debug('d', meta);
    sdk.info('i', meta);
    sdk.warn('w', meta);
    sdk.error('e', meta);
    sdk.log('WARN', 'via log', { ...meta, [Symbol.for('log_timestamp')]: 1n });
    expect(lines().map((l) => [l.level, l.msg])).toEqual([
      ['trace', 't'],
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
      ['warn', 'via log'],
    ]);
    for (const line of lines()) {
      expect(line).toMatchObject({ logger: 'temporal', ...meta });
    }
  });

  it("drops the SDK's own lines below sdkLevel but not the workflows' and activities' lines, and the noise", () => {
    const { log, lines } = captureLogger('info');
    const sdk = temporalLogger(log, { sdkLevel: 'warn', drop: (m) => m.startsWith('No workflows registered') });
    sdk.info('Worker state changed', { sdkComponent: 'worker' });
    sdk.info('core detail', { sdkComponent: 'core', target: 'temporalio_sdk_core' });
    sdk.debug('Activity started', { sdkComponent: 'worker', activityType: 'fetchPage' });
    sdk.warn('No workflows registered, not polling for workflow tasks', { sdkComponent: 'worker' });
    sdk.info('batch started', { sdkComponent: 'workflow', workflowId: 'sync-items' });
    sdk.info('page fetched', { sdkComponent: 'activity', workflowId: 'sync-items', activityType: 'fetchPage' });
    sdk.warn('Activity failed', {
      sdkComponent: 'worker',
      workflowId: 'sync-items',
      activityType: 'fetchPage',
      attempt: 2,
      taskToken: 'dGVzdA==',
      error: new Error('apismith unreachable'),
    });
    const got = lines();
    expect(got.map((l) => l.msg)).toEqual(['batch started', 'page fetched', 'Activity failed']);
    expect(got[2]).toMatchObject({
      level: 'warn',
      workflowId: 'sync-items',
      activityType: 'fetchPage',
      attempt: 2,
      error: { type: 'Error', message: 'apismith unreachable' },
    });
    expect(got[2]).not.toHaveProperty('taskToken');
  });

  it("keeps the SDK's own lines at WARN unless SyncFlow logs at debug or trace", () => {
    expect(sdkLevelFor('info')).toBe('warn');
    expect(sdkLevelFor('debug')).toBe('debug');
    expect(sdkLevelFor('trace')).toBe('trace');
    expect(sdkLevelFor('error')).toBe('error');
  });
});
