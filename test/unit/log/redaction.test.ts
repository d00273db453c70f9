import { describe, expect, it } from 'vitest';
import { connectorLogger, redactingLogger } from '../../../connectors/logger.ts';
import { logLevelFrom, registerSecretValues } from '../../../log/logger.ts';
import { captureLogger } from './capture.ts';

describe('SyncFlow logger: redaction', () => {
  it('prints secret-named fields as *** at any depth, keeping the other fields', () => {
    const { log, raw, lines } = captureLogger();
    log.info(
      {
        entity: 'items',
        password: 'pw-top-level',
        connection: { auth: { username: 'erp', password: { value: 'pw-nested' } } },
        request: { headers: { authorization: 'Bearer tok-123456', 'x-api-key': 'key-123456' } },
        apiKey: 'sf_0123456789',
        refresh_token: 'refresh-123456',
      },
      'connecting',
    );
    const [line] = lines();
    expect(line).toMatchObject({
      level: 'info',
      msg: 'connecting',
      entity: 'items',
      password: '***',
      connection: { auth: { username: 'erp', password: '***' } },
      request: { headers: { authorization: '***', 'x-api-key': '***' } },
      apiKey: '***',
      refresh_token: '***',
    });
    for (const secret of ['pw-top-level', 'pw-nested', 'tok-123456', 'key-123456', 'sf_0123456789', 'refresh-123456']) {
      expect(raw.join('')).not.toContain(secret);
    }
  });

  it("scrubs a connection's secret value from a connector's message and fields (redactingLogger over pino)", () => {
    const { log, raw, lines } = captureLogger();
    const connector = redactingLogger(connectorLogger('apismith', log), ['s3cr3t-pass']);
    connector.warn('apismith login as erp/s3cr3t-pass refused', { detail: 'body echoed s3cr3t-pass', status: 401 });
    expect(lines()[0]).toMatchObject({
      level: 'warn',
      connector: 'apismith',
      msg: 'apismith login as erp/*** refused',
      detail: 'body echoed ***',
      status: 401,
    });
    expect(raw.join('')).not.toContain('s3cr3t-pass');
  });

  it('masks credentials inside URLs and registered secret values anywhere in a line', () => {
    const { log, raw, lines } = captureLogger();
    registerSecretValues(['process-secret-value-42']);
    log.error(
      { err: new Error('cannot reach postgresql://syncflow:db-pass-77@10.0.0.5:5432/syncflow') },
      'the key process-secret-value-42 leaked into a message',
    );
    expect(lines()[0]).toMatchObject({
      msg: 'the key *** leaked into a message',
      err: { message: 'cannot reach postgresql://syncflow:***@10.0.0.5:5432/syncflow' },
    });
    expect(raw.join('')).not.toMatch(/db-pass-77|process-secret-value-42/);
  });

  it('writes one JSON object a line with an ISO time and the level as a word', () => {
    const { log, raw } = captureLogger('info');
    log.debug('not at info');
    log.info({ n: 1 }, 'hello');
    expect(raw).toHaveLength(1);
    expect(raw[0]).toMatch(/^\{"level":"info","time":"\d{4}-\d\d-\d\dT[\d:.]+Z",.*"n":1,"msg":"hello"\}\n$/);
  });

  it('takes its level from SYNCFLOW_LOG_LEVEL, then LOG_LEVEL, else info', () => {
    expect(logLevelFrom({ SYNCFLOW_LOG_LEVEL: 'debug', LOG_LEVEL: 'error' })).toBe('debug');
    expect(logLevelFrom({ LOG_LEVEL: 'WARN' })).toBe('warn');
    expect(logLevelFrom({})).toBe('info');
    expect(logLevelFrom({ SYNCFLOW_LOG_LEVEL: 'loud' })).toBe('info');
  });
});
