/**
 * The CLI's HTTP client for the control API: bearer key, JSON in and out, and
 * the API's error shape turned into one readable message (status, code,
 * message, then each field at fault).
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** Set when the API answered with an error: its HTTP status and error code. */
    readonly api?: { status: number; code: string | undefined },
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  url: string;
  key?: string | undefined;
}

interface ErrorShape {
  error?: { code?: string; message?: string; details?: unknown };
}

function describeDetails(details: unknown): string[] {
  if (Array.isArray(details)) {
    return details.map((d) =>
      d && typeof d === 'object' && 'field' in d
        ? `  - ${String(d.field)}: ${String((d as { message?: unknown }).message)}`
        : `  - ${JSON.stringify(d)}`,
    );
  }
  return [];
}

export function formatApiError(status: number, body: unknown): string {
  const error = (body as ErrorShape | null)?.error;
  if (!error) return `The API answered ${status} without an error description.`;
  const lines = [`${error.message ?? 'Request failed'} (${status} ${error.code ?? 'error'})`];
  lines.push(...describeDetails(error.details));
  if (status === 401)
    lines.push('  Give a key with --key or SYNCFLOW_API_KEY (create one: syncflow keys create <name>).');
  if (status === 403)
    lines.push("  This key's role does not allow it; create one that does: syncflow keys create <name> --role <role>.");
  return lines.join('\n');
}

export type ApiClient = ReturnType<typeof createApiClient>;

export function createApiClient(options: ApiClientOptions) {
  const base = `${options.url.replace(/\/+$/, '')}/api/v1`;
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `Cannot reach the SyncFlow API at ${options.url} (${cause?.code ?? cause?.message ?? (error as Error).message}). Is it running? Point at it with --url or SYNCFLOW_URL.`,
      );
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const code = (parsed as ErrorShape | null)?.error?.code;
      throw new CliError(formatApiError(response.status, parsed), { status: response.status, code });
    }
    return parsed as T;
  }
  return {
    get: <T>(path: string) => request<T>('GET', path),
    post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
    put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
    patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
    delete: <T>(path: string) => request<T>('DELETE', path),
  };
}
