import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { sourceQueryBody, sourceQueryProblem } from '../../../pipeline/source-query.ts';

const INJECTION = 'SELECT 1 AS k) AS x; DROP TABLE s.victim; SELECT * FROM (SELECT 1 AS k';

describe('sourceQueryProblem', () => {
  it.each([
    'SELECT 1',
    'select part_no, qty from s.parts where plant = $1',
    'SELECT * FROM s.parts;',
    'SELECT * FROM s.parts ;  -- trailing comment after the one semicolon\n',
    'SELECT * FROM s.parts; /* a closing note */',
    'WITH p AS (SELECT 1 AS k) SELECT * FROM p',
    'WITH RECURSIVE n(k) AS (VALUES (1) UNION ALL SELECT k + 1 FROM n WHERE k < 10) SELECT k FROM n',
    'VALUES (1, 2), (3, 4)',
    'TABLE s.parts',
    '(SELECT 1) UNION ALL (SELECT 2)',
    '  \n -- a leading comment\n SELECT 1',
    '/* leading /* nested */ comment */ SELECT 1',
  ])('accepts a read-only statement: %s', (query) => {
    expect(sourceQueryProblem(query)).toBeNull();
  });

  it.each([
    // Semicolons, parentheses and keywords inside literals, comments and identifiers never count.
    "SELECT 'a; DROP TABLE x; (' AS s",
    "SELECT 'it''s; delete' AS s",
    "SELECT E'it\\'s; DROP TABLE x' AS s",
    "SELECT e'back\\\\slash' AS s, 'plain\\' AS t",
    'SELECT $$; DROP TABLE x; ($$ AS s',
    'SELECT $body$ it is $$ not the end; UPDATE $body$ AS s',
    'SELECT "update", "a;b", "say ""drop""" FROM s.t',
    'SELECT 1 -- ; DROP TABLE x\n',
    'SELECT 1 /* ; DELETE FROM x; /* nested ; */ still comment ) */',
    'SELECT p.set, p.update FROM s.parts p',
    'SELECT updated_at, created_by, drop_reason, into_bin, setting FROM s.t',
    'SELECT substring(name FOR 3) FROM s.t',
    "SELECT U&'d\\0061t\\+000061' AS s, B'1010' AS b, X'ff' AS h",
    'SELECT a$b$ FROM s.t',
  ])('ignores `;`, parentheses and keywords inside literals and identifiers: %s', (query) => {
    expect(sourceQueryProblem(query)).toBeNull();
  });

  it('refuses the injection that closes the wrapping subquery', () => {
    expect(sourceQueryProblem(INJECTION)).toMatch(/\)".*never opened/);
  });

  it.each([
    ['SELECT 1; DROP TABLE s.victim', /second statement/],
    ['SELECT 1;; ', /second statement/],
    ['SELECT 1; SELECT 2;', /second statement/],
    ['SELECT * FROM s.t; DELETE FROM s.t', /second statement/],
    ['WITH d AS (DELETE FROM s.t RETURNING *) SELECT * FROM d', /DELETE/],
    ['WITH u AS (UPDATE s.t SET k = 1 RETURNING *) SELECT * FROM u', /UPDATE/],
    ['WITH i AS (INSERT INTO s.t VALUES (1) RETURNING *) SELECT * FROM i', /INSERT/],
    ['WITH m AS (MERGE INTO s.t USING s.u ON true WHEN MATCHED THEN DELETE) SELECT 1', /MERGE/],
    ['SELECT * INTO s.copy FROM s.t', /INTO/],
    ['SELECT * FROM s.t FOR UPDATE', /UPDATE/],
    ['SELECT * FROM s.t FOR SHARE', /FOR SHARE/],
    ['SELECT * FROM s.t FOR KEY SHARE', /FOR KEY/],
    ['SELECT * FROM s.t FOR NO KEY UPDATE', /FOR NO/],
    ['select * from s.t for share', /FOR SHARE/],
    ['SELECT set FROM s.t', /SET.*"set"/],
    ['DELETE FROM s.t', /starts with DELETE/],
    ['INSERT INTO s.t VALUES (1)', /starts with INSERT/],
    ['TRUNCATE s.t', /starts with TRUNCATE/],
    ['COPY s.t TO STDOUT', /starts with COPY/],
    ['CALL s.p()', /starts with CALL/],
    ['DO $$ BEGIN PERFORM 1; END $$', /starts with DO/],
    ['EXPLAIN ANALYZE SELECT 1', /starts with EXPLAIN/],
    ['BEGIN', /starts with BEGIN/],
    ['SET ROLE postgres', /starts with SET/],
    ['SELECT 1 FROM s.t, LATERAL (SELECT 1) x; COMMIT', /second statement/],
    ['SELECT (SELECT 1) AS x WHERE EXISTS (SELECT 1', /never closed/],
    ['SELECT ((1)', /parenthesis is never closed/],
    ['SELECT 1)', /never opened/],
    ["SELECT 'unterminated", /string .* never closed/],
    ["SELECT E'escaped quote never ends\\'", /string .* never closed/],
    ['SELECT "unterminated', /quoted identifier .* never closed/],
    ['SELECT $x$ never closed $y$', /\$x\$-quoted string .* never closed/],
    ['SELECT 1 /* never /* closed */', /comment .* never closed/],
    ['', /empty/],
    ['   -- only a comment', /empty/],
    [';', /empty/],
    ["'SELECT 1'", /starts with "'"/],
    ['SELECT 1 ; LISTEN x', /second statement/],
    ['SELECT pg_notify(1) FROM s.t WHERE false OR NOTIFY', /NOTIFY/],
    ['SELECT 1 FROM s.t GRANT', /GRANT/],
    ['VALUES (1) RESET', /RESET/],
    ['TABLE s.t LOCK', /LOCK/],
    ['WITH x AS (SELECT 1) VACUUM', /VACUUM/],
    ['SELECT ANALYZE', /ANALYZE/],
    ['SELECT 1 CREATE', /CREATE/],
    ['SELECT 1 ALTER', /ALTER/],
    ['SELECT 1 REVOKE', /REVOKE/],
  ])('refuses %s', (query, message) => {
    const problem = sourceQueryProblem(query);
    expect(problem).toMatch(/^the source query must be one SELECT statement: /);
    expect(problem).toMatch(message);
  });

  test.prop([fc.string(), fc.string()])('any text quoted as a literal or identifier is inert', (text, name) => {
    const literal = `'${text.replaceAll("'", "''")}'`;
    const identifier = `"${name.replaceAll('"', '""')}"`;
    expect(sourceQueryProblem(`SELECT ${literal} AS ${identifier}, $q$${text.replaceAll('$', '')}$q$`)).toBeNull();
  });

  it('names where the problem is', () => {
    expect(sourceQueryProblem('SELECT 1; DROP TABLE t')).toMatch(/";" at character 9/);
    expect(sourceQueryProblem('SELECT 1 FROM t FOR UPDATE')).toMatch(/UPDATE at character 21/);
  });
});

describe('sourceQueryBody', () => {
  it('drops one trailing semicolon and what follows it only when that is a comment', () => {
    expect(sourceQueryBody('  SELECT 1 ;  ')).toBe('SELECT 1');
    expect(sourceQueryBody('SELECT 1; -- done')).toBe('SELECT 1');
    expect(sourceQueryBody("SELECT ';' AS s")).toBe("SELECT ';' AS s");
    expect(sourceQueryBody('SELECT 1 -- note')).toBe('SELECT 1 -- note');
    // A query with a problem comes back whole: PostgreSQL then refuses it as one statement.
    expect(sourceQueryBody(INJECTION)).toBe(INJECTION);
  });
});
