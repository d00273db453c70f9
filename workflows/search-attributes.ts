import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes SyncFlow sets on its workflows, so the Web UI and
 * `temporal workflow list --query 'SyncEntity="items"'` can filter syncs.
 * Registered on the dev server at start-up (infra/temporal.ts).
 */
export const SyncEntity = defineSearchAttributeKey('SyncEntity', SearchAttributeType.KEYWORD);
export const SyncType = defineSearchAttributeKey('SyncType', SearchAttributeType.KEYWORD);
export const SyncBatchId = defineSearchAttributeKey('SyncBatchId', SearchAttributeType.KEYWORD);
/**
 * true while the sync is paused (by an operator or its circuit breaker): `SyncPaused = true` in the Web UI.
 * Set false at start by control/syncs.ts, so a namespace without it refuses the start instead of failing a
 * workflow task later; the workflow upserts it when a pause takes effect and when it resumes.
 */
export const SyncPaused = defineSearchAttributeKey('SyncPaused', SearchAttributeType.BOOL);

export const searchAttributeKeys = [SyncEntity, SyncType, SyncBatchId, SyncPaused];
