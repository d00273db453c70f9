import type pg from 'pg';

/**
 * Request budgets shared by every worker process (rate_limits): one token bucket per remote system.
 *
 * `takeRateLimitToken` refills the bucket for the time since it was last touched, at most to `capacity`,
 * and takes one token, in one statement (the row lock serialises every process). Tokens may go below zero:
 * each caller is promised the next free slot and told how long to wait for it, so waiters across processes
 * are served in order and the sum of requests never exceeds capacity + rate × elapsed.
 */
export async function takeRateLimitToken(
  pool: pg.Pool,
  key: string,
  perSecond: number,
  capacity: number,
): Promise<number> {
  const { rows } = await pool.query<{ tokens: number }>(
    `INSERT INTO rate_limits AS r (key, tokens, updated_at) VALUES ($1, $3::float8 - 1, clock_timestamp())
     ON CONFLICT (key) DO UPDATE SET
       tokens = least($3::float8,
                      r.tokens + greatest(0, extract(epoch FROM clock_timestamp() - r.updated_at)) * $2::float8) - 1,
       updated_at = greatest(r.updated_at, clock_timestamp())
     RETURNING tokens`,
    [key, perSecond, capacity],
  );
  const tokens = Number(rows[0]!.tokens);
  return tokens >= 0 ? 0 : Math.ceil((-tokens / perSecond) * 1000);
}

/**
 * The strictest `rpmCap` any stored entity sets on a source or target using this connection (null: none
 * does). Every process applies this one cap to the connection's shared bucket.
 */
export async function strictestRpmCap(pool: pg.Pool, connection: string): Promise<number | null> {
  const { rows } = await pool.query<{ cap: number | null }>(
    `SELECT min((c->>'rpmCap')::int) AS cap
       FROM entities e
      CROSS JOIN LATERAL (SELECT e.config->'source' AS c
                           UNION ALL SELECT jsonb_array_elements(e.config->'targets')) used
      WHERE c->>'connection' = $1 AND jsonb_typeof(c->'rpmCap') = 'number'`,
    [connection],
  );
  return rows[0]?.cap ?? null;
}
