import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';

/**
 * Workflow histories to and from the proto3 JSON that Temporal's tools write (the format of
 * `temporal workflow show --output json` and of @temporalio/common's historyToJSON / historyFromJSON).
 *
 * Why not those two functions: in this install they throw "type must be a Type". They take protobufjs's
 * JSON codec from @temporalio/common's own copy of protobufjs, while the History type comes from
 * @temporalio/proto's copy (npm nests one copy of protobufjs 8 under each @temporalio package because the
 * root holds grpc's protobufjs 7), and the codec refuses a Type of the other copy. Taking the codec from the
 * copy @temporalio/proto resolves keeps the two together whatever the layout.
 */
export type History = temporal.api.history.v1.IHistory;

const require = createRequire(import.meta.url);
const proto = require('@temporalio/proto') as typeof import('@temporalio/proto');
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot<T>(root: T): T & { lookupType(name: string): unknown };
};
const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
};
const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');

/** A history (as `WorkflowHandle.fetchHistory()` returns it) as indented JSON text. */
export function historyToJSON(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return `${JSON.stringify(protojson.toJson(historyType, message), null, 1)}\n`;
}

/** A history from its JSON (a message `Worker.runReplayHistory` takes as it is). */
export function historyFromJSON(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history?.events?.length) throw new TypeError('not a workflow history (no events)');
  return history;
}
