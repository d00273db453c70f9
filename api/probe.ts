/** One health probe: ok and latency, or the failure's message; never throws, never waits past the deadline. */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export async function probe(check: () => Promise<unknown>, timeoutMs = 3_000): Promise<ProbeResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
