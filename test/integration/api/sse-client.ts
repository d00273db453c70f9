export interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** A minimal SSE client over fetch: yields parsed events and counts heartbeat comments. */
export async function openStream(url: string, key: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = '';
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            else {
              const colon = line.indexOf(':');
              const field = line.slice(0, colon) as keyof SseEvent;
              event[field] = line.slice(colon + 1).replace(/^ /, '');
            }
          }
          if (event.data !== undefined) events.push(event);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    events,
    comments: () => comments,
    async waitFor(count: number, timeoutMs = 10_000) {
      const started = Date.now();
      while (events.length < count) {
        if (Date.now() - started > timeoutMs) throw new Error(`only ${events.length} of ${count} events`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return events;
    },
    async close() {
      controller.abort();
      await pump;
    },
  };
}
