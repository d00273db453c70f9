import type { ApplyResult, Row } from '../connectors/types.ts';
import type { Decision, DeltaResult, StoredIdentity } from '../pipeline/delta/delta.ts';
import type { FieldError } from '../pipeline/errors.ts';
import type { RowIdentity } from '../pipeline/identity/identity.ts';
import type { NormalizedRow } from '../pipeline/normalize/engine.ts';
import type { ParentRef } from '../pipeline/resolve/parents.ts';
import type { TargetRecord } from '../pipeline/target-record.ts';

/**
 * The worker-local page cache: how a page's rows travel between the stage
 * activities without passing through workflow history. Every stage of a page
 * runs on this worker's own task queue, so the next stage finds what the
 * previous one left here. A miss (the worker restarted, or the entry was
 * evicted) makes the stage fail with PageCacheMiss and the workflow redoes
 * the page from FETCH with the same cursor.
 */
export interface QuarantinedRow {
  /** Position in the fetched page. */
  index: number;
  stage: 'normalize' | 'validate' | 'map' | 'resolve' | 'ingest';
  errorType: string;
  message: string;
  details?: unknown;
  normalized?: Record<string, unknown>;
  mapped?: Record<string, unknown>;
  identity?: RowIdentity;
  targetName?: string;
  errors?: FieldError[];
}

export interface WaitingChild {
  /** Position in `records`. */
  record: number;
  parent: ParentRef;
}

export interface PageState {
  batchUid: string;
  page: number;
  raw: Row[];
  /** Rowversion (source text) of the page's last row: the watermark candidate of an incremental read. */
  lastRowversion: string | null;
  /** The source's cursor after this page (a background load's offset once the page is tracked). */
  nextCursor?: string | null;
  /** Each raw row's source hash (pipeline/delta/unchanged-source.ts), stored by TRACK with what it writes. */
  sourceHashes?: string[];
  /** Raw rows found unchanged since the last sync (SKIPped without NORMALIZE…IDENTITY): raw index → bk_hash. */
  unchanged?: Map<number, string>;
  /** Each target's identity rows NORMALIZE read, by target name (DELTA reads only the keys not among `lookedUp`). */
  stored?: Map<string, Map<string, StoredIdentity>>;
  lookedUp?: Set<string>;
  normalized?: NormalizedRow[];
  valid?: NormalizedRow[];
  /** Target-shaped records of the valid rows; `rows[i]` is the raw index of `records[i]`. */
  records?: TargetRecord[];
  rowIndex?: number[];
  identities?: RowIdentity[];
  /** The primary target's decisions: the page's counts, RESOLVE and the DLQ follow them. */
  delta?: DeltaResult;
  /**
   * Each target's own decisions (the primary's are `delta.decisions`): every target converges on its own, so a
   * record the primary holds but a secondary lacks or failed is sent to that secondary only.
   */
  targetDecisions?: Record<string, Decision[]>;
  /** A replay page (sync type replay): the DLQ record each raw row came from, and when it failed (epoch ms). */
  replayOf?: Array<{ uid: string; failedAtMs: number }>;
  waiting?: WaitingChild[];
  ingest?: Record<string, ApplyResult[]>;
  quarantined: QuarantinedRow[];
}

/** A target's decisions for the page: the primary's are the page's own (`delta`), a secondary's its own. */
export function decisionsFor(rt: { primary: { name: string } }, state: PageState, target: string): Decision[] {
  if (target === rt.primary.name) return state.delta?.decisions ?? [];
  return state.targetDecisions?.[target] ?? state.delta?.decisions ?? [];
}

export class PageCacheMiss extends Error {
  override readonly name = 'PageCacheMiss';
}

/** Bounded: a batch keeps only its pages in flight here, but a stuck workflow must not pin memory forever. */
export class PageCache {
  private readonly pages = new Map<string, PageState>();

  constructor(private readonly capacity = 64) {}

  static key(batchUid: string, page: number): string {
    return `${batchUid}:${page}`;
  }

  put(state: PageState): void {
    const key = PageCache.key(state.batchUid, state.page);
    this.pages.delete(key);
    this.pages.set(key, state);
    while (this.pages.size > this.capacity) this.pages.delete(this.pages.keys().next().value!);
  }

  get(batchUid: string, page: number): PageState {
    const state = this.pages.get(PageCache.key(batchUid, page));
    if (!state) {
      throw new PageCacheMiss(`page ${page} of batch ${batchUid} is not in this worker's cache (restarted or evicted)`);
    }
    return state;
  }

  drop(batchUid: string, page: number): void {
    this.pages.delete(PageCache.key(batchUid, page));
  }

  get size(): number {
    return this.pages.size;
  }
}
