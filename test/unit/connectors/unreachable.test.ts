import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { connectorCall, toActivityFailure } from '../../../activities/failures.ts';
import { ConnectorError, unreachableCode } from '../../../connectors/errors.ts';
import { classifyTransportError } from '../../../connectors/http/classify.ts';
import { databaseError } from '../../../connectors/postgres/errors.ts';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('an unreachable server fails fast (issue 10, finding 14)', () => {
  it('recognises a refused connection or an unknown host, also inside causes and AggregateErrors', () => {
    expect(unreachableCode(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'))).toBe('ECONNREFUSED');
    expect(unreachableCode(errno('ENOTFOUND', 'getaddrinfo ENOTFOUND db.invalid'))).toBe('ENOTFOUND');
    expect(unreachableCode(errno('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db'))).toBe('EAI_AGAIN');
    const happyEyeballs = new AggregateError([errno('ECONNREFUSED', 'connect ECONNREFUSED ::1:1')], '');
    expect(unreachableCode(happyEyeballs)).toBe('ECONNREFUSED');
    expect(unreachableCode(new Error('fetch failed', { cause: errno('ENOTFOUND', 'x') }))).toBe('ENOTFOUND');
    // A connection lost once made is another matter: it may well come back.
    expect(unreachableCode(errno('ECONNRESET', 'read ECONNRESET'))).toBeUndefined();
    expect(unreachableCode(null)).toBeUndefined();
  });

  it('HTTP and PostgreSQL connectors classify it as unreachable, not transient, with the cause in the message', () => {
    const http = classifyTransportError(errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'apismith', 'login');
    expect(http).toMatchObject({ code: 'unreachable', transient: false });
    expect(http.message).toBe(
      'apismith login: cannot reach the server (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1',
    );
    const aggregate = classifyTransportError(
      new AggregateError([errno('ECONNREFUSED', 'connect ECONNREFUSED ::1:1')], ''),
      'schedulehub',
      'batch insert items',
    );
    expect(aggregate.message).toMatch(/\(ECONNREFUSED\): connect ECONNREFUSED ::1:1$/);
    const db = databaseError(errno('ENOTFOUND', 'getaddrinfo ENOTFOUND db.invalid'), 'postgres', 'fetch page');
    expect(db).toMatchObject({ code: 'unreachable', transient: false });
    expect(db.message).toBe(
      'postgres fetch page: cannot reach the database (ENOTFOUND): getaddrinfo ENOTFOUND db.invalid',
    );
    // Unchanged: a reset stays a retryable connection error.
    expect(classifyTransportError(errno('ECONNRESET', 'socket hang up'), 'x', 'y')).toMatchObject({
      code: 'connection',
      transient: true,
    });
    expect(databaseError(errno('ECONNRESET', 'read ECONNRESET'), 'postgres', 'y')).toMatchObject({ transient: true });
    expect(databaseError(new Error('timeout exceeded when trying to connect'), 'postgres', 'y')).toMatchObject({
      transient: true,
    });
  });
});

describe('activities: an unreachable server is a non-retryable failure', () => {
  const unreachable = new ConnectorError('cannot reach the database (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1', {
    connector: 'postgres',
    operation: 'fetch page',
    code: 'unreachable',
    transient: false,
  });

  it('converts with the message and the error as details', () => {
    const failure = toActivityFailure(unreachable) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: true, type: 'ConnectorUnreachable', message: unreachable.message });
    expect(failure.details).toEqual([unreachable.toJSON()]);
  });

  it('tries an unreachable server once more, quickly, then gives up; other errors at once', async () => {
    let calls = 0;
    const started = Date.now();
    await expect(
      connectorCall(async () => {
        calls++;
        throw unreachable;
      }),
    ).rejects.toBe(unreachable); // the activity boundary makes it a failure (worker/failure-interceptor.ts)
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);

    let flaky = 0;
    expect(
      await connectorCall(async () => {
        if (++flaky === 1) throw unreachable; // a database restarting
        return 'read';
      }),
    ).toBe('read');

    let once = 0;
    const blip = new ConnectorError('x', { connector: 'postgres', operation: 'y', code: 'timeout', transient: true });
    await expect(
      connectorCall(async () => {
        once++;
        throw blip;
      }),
    ).rejects.toBe(blip);
    expect(once).toBe(1);
  });
});
