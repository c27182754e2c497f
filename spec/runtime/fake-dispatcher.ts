/**
 * A dispatcher without threads, for the engine's unit specs: it records every
 * job and lets the test start, answer or fail each one when it chooses, so
 * orderings are exact and nothing depends on timing.
 */
import { encodeError } from '../../lib/codec/error-codec';
import type { Dispatcher, Job, JobEntry } from '../../lib/runtime/dispatch';
import type { TaskRequest, TaskResponse } from '../../lib/runtime/protocol';

export class FakeDispatcher implements Dispatcher {
  readonly entries: JobEntry[] = [];
  closed = false;
  terminatedWith: unknown;

  constructor(readonly workers = 2) {}

  submit(job: Job): JobEntry {
    const entry: JobEntry = { job, state: 'queued' };
    this.entries.push(entry);
    return entry;
  }

  cancel(entry: JobEntry): boolean {
    if (entry.state !== 'queued') return false;
    entry.state = 'cancelled';
    return true;
  }

  failQueued(error: unknown): void {
    for (const entry of this.queued()) {
      entry.state = 'done';
      entry.job.onFailure(error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async terminate(error: unknown): Promise<void> {
    this.terminatedWith = error;
    for (const entry of this.entries) {
      if (entry.state === 'queued' || entry.state === 'running') {
        entry.state = 'done';
        entry.job.onFailure(error);
      }
    }
  }

  queued(): JobEntry[] {
    return this.entries.filter((entry) => entry.state === 'queued');
  }

  running(): JobEntry[] {
    return this.entries.filter((entry) => entry.state === 'running');
  }

  /** Starts a queued job (as a worker taking it). */
  start(entry: JobEntry): void {
    entry.state = 'running';
    entry.job.onStart?.();
  }

  /** Runs `entry` "in a worker": its items through `fn`, answered at once. */
  answer(entry: JobEntry, fn: (item: unknown) => unknown = (x) => x): void {
    if (entry.state === 'queued') this.start(entry);
    entry.state = 'done';
    entry.job.onResponse(respond(entry.job.request, fn));
  }

  /** Answers with a task error thrown at the item whose value is `badItem`. */
  answerWithError(entry: JobEntry, badItem: unknown, error: unknown): void {
    this.answer(entry, (item) => {
      if (item === badItem) throw error;
      return item;
    });
  }

  /** Fails a job the way a dead worker does. */
  fail(entry: JobEntry, error: unknown): void {
    entry.state = 'done';
    entry.job.onFailure(error);
  }
}

/** The items a request carries (as the worker would see them). */
export function itemsOf(request: TaskRequest): unknown[] {
  const { input } = request;
  if (input.kind === 'encoded') return input.args;
  if (input.kind === 'packed') return Array.from(input.packed);
  return Array.from(input.packed.subarray(input.from, input.to));
}

function respond(request: TaskRequest, fn: (item: unknown) => unknown): TaskResponse {
  const results: unknown[] = [];
  for (const item of itemsOf(request)) {
    try {
      results.push(fn(item));
    } catch (error) {
      return { result: results, shared: false, error: encodeError(error).error };
    }
  }
  return { result: results, shared: false };
}
