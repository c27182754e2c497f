/**
 * The module every pool worker runs (piscina's `filename`). piscina calls the
 * default export once per task with our `TaskRequest`; it returns a
 * `TaskResponse` and never throws, so that a task's error crosses intact (see
 * error-codec.ts) and piscina's own error path means only one thing: the
 * worker died or was stopped.
 */
import { workerData, type TransferListItem } from 'node:worker_threads';
import { decode, encode } from '../codec/codec';
import { encodeError } from '../codec/error-codec';
import { CallKind, type EncodedError, type PoolWorkerData, type TaskRequest, type TaskResponse } from '../runtime/protocol';
import { packResults } from '../codec/packing';
import { cachedTask, loadTask, type LoadedTask } from './load-task';
import './shared-type-loader';

const options = (workerData ?? {}) as PoolWorkerData;

let initFailure: EncodedError | undefined;
// The initializer starts as soon as the worker does, and every task waits for it.
let initializing: Promise<void> | undefined = options.initializer === undefined ? undefined : runInitializer();

async function runInitializer(): Promise<void> {
  try {
    const initializer = await loadTask(options.initializer!);
    const args = options.initargsShared ? decode(options.initargs ?? []) : (options.initargs ?? []);
    await initializer(...args);
  } catch (error) {
    initFailure = encodeError(error).error;
  } finally {
    initializing = undefined;
  }
}

const TRANSFERABLE = Symbol.for('Piscina.transferable');
const VALUE = Symbol.for('Piscina.valueOf');
let piscinaMove: ((value: object) => unknown) | undefined;

/** Results with `transfer()`-marked buffers go back through piscina's move(). */
function moved(response: TaskResponse, transferList: TransferListItem[]): unknown {
  piscinaMove ??= (require('piscina') as { move(value: object): unknown }).move;
  return piscinaMove({ [TRANSFERABLE]: transferList, [VALUE]: response });
}

function failure(error: unknown, result: unknown, isInline: boolean): TaskResponse {
  if (isInline && error instanceof ReferenceError && / is not defined$/.test(error.message)) {
    error.message +=
      ' (an inline task function runs in a worker thread and cannot use variables of the caller: pass the value as an argument, or move the function into a task module)';
  }
  const encoded = encodeError(error);
  return { result, shared: encoded.shared, error: encoded.error };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

async function runChunk(
  fn: LoadedTask,
  request: TaskRequest,
  args: ArrayLike<unknown>,
): Promise<{ results: unknown[]; error?: unknown; failed: boolean }> {
  const results: unknown[] = [];
  const [from, to] = request.range ?? [0, args.length];
  try {
    for (let i = from; i < to; i++) {
      let value = request.kind === CallKind.Map ? fn(args[i]) : fn(...(args[i] as unknown[]));
      if (isThenable(value)) value = await value;
      results.push(value);
    }
    return { results, failed: false };
  } catch (error) {
    return { results, error, failed: true };
  }
}

export default async function handleTask(request: TaskRequest): Promise<unknown> {
  if (initializing !== undefined) await initializing;
  if (initFailure !== undefined) return { result: undefined, shared: false, broken: initFailure } satisfies TaskResponse;
  const isInline = request.file === '';
  let fn: LoadedTask;
  let args: unknown[];
  try {
    fn = cachedTask(request) ?? (await loadTask(request));
    args = request.shared ? decode(request.args) : request.args;
  } catch (error) {
    return failure(error, undefined, isInline);
  }
  let result: unknown;
  if (request.kind === CallKind.Apply) {
    try {
      result = fn(...args);
      if (isThenable(result)) result = await result;
    } catch (error) {
      return failure(error, undefined, isInline);
    }
  } else {
    const chunk = await runChunk(fn, request, args);
    if (chunk.failed) {
      let partial: unknown = chunk.results;
      let shared = false;
      try {
        const encoded = encode(chunk.results, 'result');
        partial = encoded.value;
        shared = encoded.shared;
      } catch {
        partial = [];
      }
      const response = failure(chunk.error, partial, isInline);
      return { ...response, shared: response.shared || shared };
    }
    const packed = packResults(chunk.results);
    if (packed !== undefined) return { result: packed.packed, shared: false, packed: packed.kind } satisfies TaskResponse;
    result = chunk.results;
  }
  try {
    const encoded = encode(result, 'result');
    const response: TaskResponse = { result: encoded.value, shared: encoded.shared };
    return encoded.transferList === undefined ? response : moved(response, encoded.transferList);
  } catch (error) {
    return failure(error, undefined, isInline);
  }
}
