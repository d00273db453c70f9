import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes SyncFlow sets on its workflows, so the Web UI and
 * `temporal workflow list --query 'SyncEntity="items"'` can filter syncs.
 * Registered on the dev server at start-up (infra/temporal.ts).
 */
export const SyncEntity = defineSearchAttributeKey('SyncEntity', SearchAttributeType.KEYWORD);
export const SyncType = defineSearchAttributeKey('SyncType', SearchAttributeType.KEYWORD);
export const SyncBatchId = defineSearchAttributeKey('SyncBatchId', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [SyncEntity, SyncType, SyncBatchId];
