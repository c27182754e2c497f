/**
 * A whole-list map (Pool.map, Pool.starmap): the input is read to the end and
 * prepared ONCE before the first chunk is sent: an array of numbers (map) is
 * packed in shared memory, anything else is checked and codec-encoded in one
 * walk (so an uncloneable item fails the call before anything runs, with its
 * path counted from the input). Chunks then run in completion order and their
 * results are written at their positions.
 *
 * A packed map without an explicit chunksize, on a dispatcher that allows it
 * (local threads, no recycling), runs self-scheduled instead (range-run.ts):
 * one job per worker, the workers claiming ranges of the shared input.
 */
import { encode } from '../codec/codec';
import { packNumbersShared } from '../codec/packing';
import { invalidArg } from '../validate';
import { type CallRun, ChunkRun } from './chunk-run';
import { adaptiveChunksize, arraySource, type PreparedInput } from './chunk-source';
import type { Dispatcher } from './dispatch';
import { CallKind, type TaskSpec } from './protocol';
import { RangeRun, rangeSize, rangesFit } from './range-run';
import { takeShared } from './spare-buffers';

/**
 * Python's default chunksize for `map`: `ceil(itemCount / (4 × workers))`, at least 1.
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `itemCount` is not an integer ≥ 0 or `workers` not an integer ≥ 1.
 * @example
 * defaultChunksize(1000, 4);   // 63
 */
export function defaultChunksize(itemCount: number, workers: number): number {
  if (typeof itemCount !== 'number' || !Number.isSafeInteger(itemCount) || itemCount < 0) {
    throw invalidArg('itemCount', 'an integer from 0 and up', itemCount);
  }
  if (typeof workers !== 'number' || !Number.isSafeInteger(workers) || workers < 1) {
    throw invalidArg('workers', 'an integer from 1 and up', workers);
  }
  return Math.max(1, Math.ceil(itemCount / (4 * workers)));
}

export interface MapCall {
  readonly dispatcher: Dispatcher;
  readonly spec: TaskSpec;
  readonly kind: CallKind;
  /** The whole input, already read (see `materialize` in chunk-source.ts). */
  readonly items: readonly unknown[];
  /** How the input is named in ERR_UNCLONEABLE and ERR_INVALID_ARG messages. */
  readonly rootName: string;
  readonly chunksize: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number, total?: number) => void) | undefined;
  /** Called once the call is over and none of its chunks runs any more. */
  readonly onSettled: () => void;
  /** Receives the run, so that it can be failed from outside (terminate). */
  readonly onRun?: (run: CallRun) => void;
}

/** Packs or encodes a whole input once. Throws ERR_UNCLONEABLE / ERR_INVALID_ARG (starmap: a tuple that is not an array). */
export function prepareInput(
  items: readonly unknown[],
  kind: CallKind,
  rootName: string,
): { items: readonly unknown[]; prepared: PreparedInput } {
  if (kind === CallKind.Map) {
    const packed = packNumbersShared(items, takeShared);
    if (packed !== undefined) return { items, prepared: { kind: 'packed', packed } };
  } else if (kind === CallKind.Starmap) {
    const bad = items.findIndex((tuple) => !Array.isArray(tuple));
    if (bad !== -1) throw invalidArg(`${rootName}[${bad}]`, 'an array of arguments', items[bad]);
  }
  const encoded = encode(items, rootName);
  // Buffers marked with transfer() move with the chunk that holds them: those inputs are encoded chunk by chunk.
  if (encoded.transferList !== undefined) return { items, prepared: { kind: 'raw' } };
  return { items: encoded.value, prepared: { kind: 'encoded', shared: encoded.shared } };
}

export function mapCall(call: MapCall): Promise<unknown[]> {
  if (call.items.length === 0) {
    call.onSettled();
    return Promise.resolve([]);
  }
  let input: ReturnType<typeof prepareInput>;
  try {
    input = prepareInput(call.items, call.kind, call.rootName);
  } catch (error) {
    call.onSettled();
    return Promise.reject(error);
  }
  const { dispatcher } = call;
  const workers = Math.max(1, dispatcher.workers);
  if (input.prepared.kind === 'packed' && call.kind === CallKind.Map && call.chunksize === undefined && dispatcher.selfScheduling) {
    const size = rangeSize(call.items.length, workers);
    if (rangesFit(call.items.length, size, workers)) return selfScheduled(call, input.prepared.packed, size);
  }
  const pythonDefault = defaultChunksize(call.items.length, workers);
  const chunksize =
    call.chunksize ?? (dispatcher.targetChunkMs === undefined ? pythonDefault : adaptiveChunksize(dispatcher.targetChunkMs, pythonDefault));
  const source = arraySource(input.items, chunksize, input.prepared);
  // Allocated only here: the self-scheduled path builds its own output, and a large array is a costly allocation.
  const results: unknown[] = new Array(call.items.length);
  return new Promise<unknown[]>((resolve, reject) => {
    const run = new ChunkRun(
      call.dispatcher,
      {
        spec: call.spec,
        kind: call.kind,
        source,
        ordered: false,
        readAhead: dispatcher.readAhead ?? workers * 4,
        rootName: call.rootName,
        signal: call.signal,
        onProgress: call.onProgress,
        release: 'auto',
        onSettled: call.onSettled,
      },
      {
        results(values, offset) {
          for (let i = 0; i < values.length; i++) results[offset + i] = values[i];
        },
        failed: reject,
        done: () => resolve(results),
      },
    );
    call.onRun?.(run);
    run.start();
  });
}

function selfScheduled(call: MapCall, packed: Int32Array | Float64Array, size: number): Promise<unknown[]> {
  return new Promise<unknown[]>((resolve, reject) => {
    const run = new RangeRun(
      call.dispatcher,
      { spec: call.spec, packed, size, signal: call.signal, onProgress: call.onProgress, onSettled: call.onSettled },
      { done: resolve, failed: reject },
    );
    call.onRun?.(run);
    run.start();
  });
}
