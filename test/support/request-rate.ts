/**
 * How far a series of request times (ms, ascending) goes beyond a token bucket of `perSecond` with `burst`:
 * the largest `count - (burst + perSecond × span)` over every window of consecutive requests (≤ 0: within
 * the cap). A limiter that holds never exceeds it; one that is missing or per process soon does by many.
 */
export function excessOverCap(times: number[], perSecond: number, burst: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const allowed = burst + (perSecond * (sorted[j]! - sorted[i]!)) / 1000;
      worst = Math.max(worst, j - i + 1 - allowed);
    }
  }
  return worst;
}

/** Requests per second over the span of the series (first to last request). */
export function observedRate(times: number[]): number {
  if (times.length < 2) return 0;
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  return (times.length - 1) / span;
}
