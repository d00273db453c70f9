/**
 * Cancellation for connector calls: an optional AbortSignal (from the
 * activity's cancellation, see activities/heartbeat.ts) that stops a call
 * promptly with an abort error. Connectors never swallow it into their own
 * retries.
 */

/** The signal's reason when it is an Error (a CancelledFailure inside an activity), else a DOM AbortError. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** Runs `work`; `onAbort` runs once if the signal fires meanwhile (cancel the query, drop the connection...). */
export async function onAbort<T>(
  signal: AbortSignal | undefined,
  cancel: () => void,
  work: () => Promise<T>,
): Promise<T> {
  if (!signal) return work();
  throwIfAborted(signal);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return await work();
  } catch (error) {
    if (signal.aborted) throw abortError(signal);
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/** A sleep that ends early with an abort error when the signal fires. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
