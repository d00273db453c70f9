import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { toActivityFailure } from '../activities/failures.ts';

/**
 * The activity boundary where errors become retry decisions: whatever an activity throws leaves as
 * {@link toActivityFailure} maps it (type, nonRetryable, nextRetryDelay). A cancelled activity's error
 * passes unchanged, so the SDK still reports it as the cancellation it is.
 */
export class FailureMappingInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly context: Context) {}

  async execute(
    input: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[0],
    next: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[1],
  ): Promise<unknown> {
    try {
      return await next(input);
    } catch (error) {
      if (this.context.cancellationSignal.aborted) throw error;
      throw toActivityFailure(error);
    }
  }
}

export const failureInterceptors: ActivityInterceptorsFactory = (context) => ({
  inbound: new FailureMappingInterceptor(context),
});
