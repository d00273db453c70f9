import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { toActivityFailure } from '../../../activities/failures.ts';
import { PageCacheMiss } from '../../../activities/page-cache.ts';
import { ConnectorError, type ConnectorErrorCode } from '../../../connectors/errors.ts';
import { errorForStatus } from '../../../connectors/http/classify.ts';
import { AccountingError } from '../../../db/batches.ts';
import { failureInterceptors } from '../../../worker/failure-interceptor.ts';

/**
 * Issue 11, item 2: errors as retry decisions, in one place. Every ConnectorError and SyncFlow error
 * leaves an activity as an ApplicationFailure with a stable type, nonRetryable from its class and the
 * server's Retry-After as nextRetryDelay; the workflow lists no non-retryable types.
 */
const connectorError = (code: ConnectorErrorCode, transient: boolean, extra: { retryAfterMs?: number } = {}) =>
  new ConnectorError(`failed with ${code}`, {
    connector: 'apismith',
    operation: 'fetch page',
    code,
    transient,
    ...extra,
  });

/** The activity runs with the worker's interceptor, as in worker/create-worker.ts. */
async function failureOf(error: unknown): Promise<unknown> {
  const env = new MockActivityEnvironment(undefined, { interceptors: [failureInterceptors] });
  try {
    await env.run(async () => {
      throw error;
    });
  } catch (failure) {
    return failure;
  }
  throw new Error('the activity did not fail');
}

describe('a ConnectorError leaves the activity as a retry decision', () => {
  const permanent: Array<[ConnectorErrorCode, string]> = [
    ['auth', 'ConnectorAuth'],
    ['config', 'ConnectorConfig'],
    ['schema_mismatch', 'ConnectorSchemaMismatch'],
    ['schema_conflict', 'ConnectorSchemaConflict'],
    ['client_error', 'ConnectorClientError'],
    ['unreachable', 'ConnectorUnreachable'],
    ['content_type', 'ConnectorContentType'],
    ['repeated_cursor', 'ConnectorRepeatedCursor'],
    ['unknown_column_type', 'ConnectorUnknownColumnType'],
  ];
  it.each(permanent)('%s → %s, not retried', async (code, type) => {
    const error = connectorError(code, false);
    const failure = (await failureOf(error)) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type, nonRetryable: true, message: `apismith fetch page: failed with ${code}` });
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.details).toEqual([error.toJSON()]);
  });

  it('a permanent class is not retried even when marked transient', async () => {
    expect(await failureOf(connectorError('auth', true))).toMatchObject({ type: 'ConnectorAuth', nonRetryable: true });
  });

  const transient: Array<[ConnectorErrorCode, string]> = [
    ['timeout', 'ConnectorTimeout'],
    ['connection', 'ConnectorConnection'],
    ['server_error', 'ConnectorServerError'],
    ['rate_limited', 'ConnectorRateLimited'],
    ['malformed_body', 'ConnectorMalformedBody'],
    ['database', 'ConnectorDatabase'],
  ];
  it.each(transient)('%s → %s, retried by Temporal with its own backoff', async (code, type) => {
    const failure = (await failureOf(connectorError(code, true))) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type, nonRetryable: false });
    expect(failure.nextRetryDelay).toBeUndefined();
  });

  it("a 429 or 503 with Retry-After is retried after the server's delay", async () => {
    const limited = errorForStatus(429, 'slow down', 'schedulehub', 'batch insert', 40_000);
    expect(await failureOf(limited)).toMatchObject({
      type: 'ConnectorRateLimited',
      nonRetryable: false,
      nextRetryDelay: 40_000,
    });
    const busy = errorForStatus(503, 'busy', 'apismith', 'execute', 7_000);
    expect(await failureOf(busy)).toMatchObject({ type: 'ConnectorServerError', nextRetryDelay: 7_000 });
    const refused = errorForStatus(401, 'bad credentials', 'apismith', 'login', undefined);
    expect(await failureOf(refused)).toMatchObject({
      type: 'ConnectorAuth',
      nonRetryable: true,
      message: 'apismith login: not authorised (401): bad credentials',
    });
    expect(await failureOf(errorForStatus(422, 'no', 'schedulehub', 'insert', undefined))).toMatchObject({
      type: 'ConnectorClientError',
      nonRetryable: true,
    });
  });
});

describe('SyncFlow errors and everything else', () => {
  it('AccountingError and PageCacheMiss are not retried (the workflow decides what follows)', async () => {
    expect(await failureOf(new AccountingError('page 3 does not balance'))).toMatchObject({
      type: 'AccountingError',
      nonRetryable: true,
      message: 'page 3 does not balance',
    });
    expect(await failureOf(new PageCacheMiss('page 2 is not in this cache'))).toMatchObject({
      type: 'PageCacheMiss',
      nonRetryable: true,
    });
  });

  it('an ApplicationFailure already built, a cancellation and unknown errors pass unchanged', async () => {
    const built = ApplicationFailure.nonRetryable('no entity', 'EntityNotFound');
    expect(await failureOf(built)).toBe(built);
    const cancelled = new CancelledFailure('cancelled');
    expect(toActivityFailure(cancelled)).toBe(cancelled);
    const unknown = new Error('something else');
    expect(await failureOf(unknown)).toBe(unknown); // retried: nothing is given up too early
  });

  it('a cancelled activity keeps its error, so the SDK reports the cancellation', async () => {
    const env = new MockActivityEnvironment(undefined, { interceptors: [failureInterceptors] });
    const error = connectorError('connection', false);
    const running = env.run(
      () =>
        new Promise((_, reject) => {
          setTimeout(() => reject(error), 50);
        }),
    );
    env.cancel();
    await expect(running).rejects.toBe(error);
  });
});
