/**
 * The module every pool worker runs (piscina's `filename`). piscina calls the
 * default export once per task with our `TaskRequest`; it returns a
 * `TaskResponse` and never throws, so that a task's error crosses intact (see
 * error-codec.ts) and piscina's own error path means only one thing: the
 * worker died or was stopped. Whatever the task returns or throws, the answer
 * is cloneable: an uncloneable result becomes ERR_UNCLONEABLE, a hostile error
 * a plain description (encodeError never throws), so the worker lives on.
 * On the port path (PortAttachRequest) the same answers go back on the
 * worker's own port instead of through piscina, and a bundle's parts
 * (TaskRequest.bundle) are answered there one by one, as each ends.
 */
import { type MessagePort, parentPort, threadId, type TransferListItem, workerData } from 'node:worker_threads';
import type * as Codec from '../codec/codec';
import type * as ErrorCodec from '../codec/error-codec';
import { packResults } from '../codec/packing';
import { passesAsIs } from '../codec/plain';
import {
  type BundleJob,
  CallKind,
  type EncodedError,
  PartState,
  type PortAttachRequest,
  type PoolWorkerData,
  type RangeJob,
  RangeResults,
  RangeWord,
  SLOT_WORDS,
  SlotState,
  type TaskRequest,
  type TaskResponse,
  type WorkerInitializedMessage,
} from '../runtime/protocol';
import { withUndefinedNameHint } from './name-hint';
import { cachedTask, type LoadedTask, loadTask } from './load-task';

const options = (workerData ?? {}) as PoolWorkerData;

// The codec (and with it the errors, the shared-type registry and the shared-type loader)
// loads at the first value that needs it: shared arguments, a result that is not plain
// values, an error to send. A worker that runs tasks over plain values boots without it
// (each recycled worker is a boot). A task module that imports parapool loads the codec
// and installs the shared-type loader itself (lib/index.ts), as the Process entry does too.
let codecModule: typeof Codec | undefined;
function codec(): typeof Codec {
  if (codecModule === undefined) {
    require('./shared-type-loader');
    codecModule = require('../codec/codec') as typeof Codec;
  }
  return codecModule;
}

function encodeError(error: unknown): ReturnType<typeof ErrorCodec.encodeError> {
  return (require('../codec/error-codec') as typeof ErrorCodec).encodeError(error);
}

let initFailure: EncodedError | undefined;
// The initializer starts as soon as the worker does (every worker, whether or
// not it ever gets a task), and every task waits for it. The main thread hears
// when it settled, so that join() lets it finish before the workers stop.
// The handler piscina gets (the default export) is a promise that settles only
// then: piscina awaits it before its idle loop, which blocks this thread in
// Atomics.wait and would freeze an initializer still awaiting something.
let initializing: Promise<void> | undefined = options.initializer === undefined ? undefined : runInitializer();

async function runInitializer(): Promise<void> {
  try {
    const initializer = await loadTask(options.initializer!);
    const args = options.initargsShared ? codec().decode(options.initargs ?? []) : (options.initargs ?? []);
    await initializer(...args);
  } catch (error) {
    initFailure = encodeError(error).error;
  } finally {
    initializing = undefined;
    parentPort?.postMessage({ type: 'parapool.pool.initialized', threadId } satisfies WorkerInitializedMessage);
  }
}

interface PiscinaMovable {
  move(value: object): unknown;
  readonly transferableSymbol: symbol;
  readonly valueSymbol: symbol;
}
let piscina: PiscinaMovable | undefined;

/** A response whose buffers (marked with `transfer()`) move instead of being copied. */
class Transfer {
  constructor(
    readonly response: TaskResponse,
    readonly transferList: TransferListItem[],
  ) {}
}

/**
 * Through piscina: every answer names this thread, for the main thread's per-worker stats, and a
 * Transfer goes back through piscina's `move()` and its exported symbols.
 */
async function answerNow(request: TaskRequest): Promise<unknown> {
  const answer = await handleTask(request);
  if (!(answer instanceof Transfer)) {
    (answer as { threadId?: number }).threadId = threadId;
    return answer;
  }
  piscina ??= require('piscina') as PiscinaMovable;
  return piscina.move({ [piscina.transferableSymbol]: answer.transferList, [piscina.valueSymbol]: { ...answer.response, threadId } });
}

const INLINE_HINT =
  ' (an inline task function runs in a worker thread and cannot use variables of the caller: pass the value as an argument, or move the function into a task module)';

function failure(error: unknown, result: unknown, isInline: boolean): TaskResponse {
  if (isInline) withUndefinedNameHint(error, INLINE_HINT);
  const encoded = encodeError(error);
  return { result, shared: encoded.shared, error: encoded.error };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The request's arguments as the task sees them, and the range of items a chunk covers. */
function argumentsOf(request: TaskRequest): { args: ArrayLike<unknown>; from: number; to: number } {
  const { input } = request;
  switch (input.kind) {
    case 'encoded': {
      const args = input.shared ? codec().decode(input.args) : input.args;
      return { args, from: 0, to: args.length };
    }
    case 'packed':
      return { args: input.packed, from: 0, to: input.packed.length };
    case 'packed-range':
      return { args: input.packed, from: input.from, to: input.to };
  }
}

async function runChunk(
  fn: LoadedTask,
  kind: CallKind,
  args: ArrayLike<unknown>,
  from: number,
  to: number,
): Promise<{ results: unknown[]; error?: unknown; failed: boolean }> {
  const results: unknown[] = [];
  try {
    for (let i = from; i < to; i++) {
      let value = kind === CallKind.Map ? fn(args[i]) : fn(...(args[i] as unknown[]));
      if (isThenable(value)) value = await value;
      results.push(value);
    }
    return { results, failed: false };
  } catch (error) {
    return { results, error, failed: true };
  }
}

/** Where a range's results go, item by item: in place while they are all numbers or all booleans, else a list. */
interface RangeFill {
  readonly from: number;
  /** The next item to run. */
  index: number;
  kind: number;
  values: unknown[] | undefined;
}

function place(fill: RangeFill, output: Float64Array, value: unknown): void {
  const index = fill.index;
  if (fill.values !== undefined) fill.values.push(value);
  else if (fill.kind === RangeResults.Numbers && typeof value === 'number') output[index] = value;
  else if (fill.kind === RangeResults.Booleans && typeof value === 'boolean') output[index] = value ? 1 : 0;
  else if (index === fill.from && typeof value === 'number') {
    fill.kind = RangeResults.Numbers;
    output[index] = value;
  } else if (index === fill.from && typeof value === 'boolean') {
    fill.kind = RangeResults.Booleans;
    output[index] = value ? 1 : 0;
  } else {
    // Neither a number nor a boolean like the ones before it: this range's results travel in the response.
    const values: unknown[] = [];
    for (let earlier = fill.from; earlier < index; earlier++)
      values.push(fill.kind === RangeResults.Booleans ? output[earlier] === 1 : output[earlier]);
    values.push(value);
    fill.values = values;
  }
  fill.index = index + 1;
}

/**
 * Runs the range's items up to `to` without leaving the loop: while the results
 * keep the range's kind, a synchronous task costs one call and one store per
 * item, as in a hand-written loop. Stops at the first promise a task returns
 * and hands it back. When a task throws, `fill.index` names its item.
 */
function fillSync(
  fn: LoadedTask,
  args: ArrayLike<unknown>,
  output: Float64Array,
  fill: RangeFill,
  to: number,
): PromiseLike<unknown> | undefined {
  while (fill.index < to) {
    let index = fill.index;
    let value: unknown;
    try {
      if (fill.values === undefined && fill.kind === RangeResults.Booleans) {
        for (; index < to; index++) {
          value = fn(args[index]);
          if (value === true) output[index] = 1;
          else if (value === false) output[index] = 0;
          else break;
        }
      } else if (fill.values === undefined && fill.kind === RangeResults.Numbers) {
        for (; index < to; index++) {
          value = fn(args[index]);
          if (typeof value !== 'number') break;
          output[index] = value;
        }
      } else {
        value = fn(args[index]);
      }
    } catch (error) {
      fill.index = index;
      throw error;
    }
    fill.index = index;
    if (index === to) return undefined;
    if (isThenable(value)) return value;
    place(fill, output, value);
  }
  return undefined;
}

/**
 * A self-scheduled map (lib/runtime/range-run.ts): claims ranges of the shared
 * input off the control block until none is left, the map failed below the
 * next range, or the map was stopped. A claimed range runs to its end (as a
 * chunk does). A range of numbers or booleans is written in place into the
 * shared output; any other result sends that range back in the response
 * instead. A throwing item lowers `Failed` to its index (a compare-and-swap
 * minimum) and ends this job; the other jobs still finish every range they
 * claimed, and every range below the failing index was claimed, so the map
 * reports the lowest failing index of the whole input.
 */
async function runRanges(fn: LoadedTask, args: ArrayLike<unknown>, job: RangeJob, isInline: boolean): Promise<TaskResponse | Transfer> {
  const { control, output, kinds, size } = job;
  const length = args.length;
  const messages: [number, unknown[]][] = [];
  for (;;) {
    if (Atomics.load(control, RangeWord.Stop) !== 0) break;
    const from = Atomics.add(control, RangeWord.Next, size);
    if (from >= length || from >= Atomics.load(control, RangeWord.Failed)) break;
    const to = Math.min(length, from + size);
    const fill: RangeFill = { from, index: from, kind: RangeResults.Pending, values: undefined };
    try {
      for (let pending = fillSync(fn, args, output, fill, to); pending !== undefined; pending = fillSync(fn, args, output, fill, to)) {
        place(fill, output, await pending);
      }
    } catch (error) {
      let lowest = Atomics.load(control, RangeWord.Failed);
      while (fill.index < lowest) {
        const seen = Atomics.compareExchange(control, RangeWord.Failed, lowest, fill.index);
        if (seen === lowest) break;
        lowest = seen;
      }
      return { ...failure(error, undefined, isInline), failedAt: fill.index };
    }
    if (fill.values !== undefined) messages.push([from, fill.values]);
    Atomics.store(kinds, from / size, fill.values === undefined ? fill.kind : RangeResults.Message);
    Atomics.add(control, RangeWord.Done, to - from);
  }
  if (messages.length === 0) return { result: undefined, shared: false };
  try {
    const encoded = encodeResult(messages);
    const response: TaskResponse = { result: encoded.value, shared: encoded.shared };
    return encoded.transferList === undefined ? response : new Transfer(response, encoded.transferList);
  } catch (error) {
    return failure(error, undefined, isInline);
  }
}

/**
 * A value made ready to post by the codec; a primitive, or an array of primitives that is not
 * a Proxy, goes as it is without loading the codec (the codec's own first step, which returns
 * these unchanged).
 */
function encodeResult(value: unknown): ReturnType<typeof Codec.encode> {
  if (passesAsIs(value)) return { value, transferList: undefined, shared: false };
  return codec().encode(value, 'result');
}

async function handleTask(request: TaskRequest): Promise<TaskResponse | Transfer> {
  if (initializing !== undefined) await initializing;
  if (initFailure !== undefined) return { result: undefined, shared: false, broken: initFailure } satisfies TaskResponse;
  const isInline = request.file === '';
  let fn: LoadedTask;
  let input: ReturnType<typeof argumentsOf>;
  try {
    fn = cachedTask(request) ?? (await loadTask(request));
    input = argumentsOf(request);
  } catch (error) {
    return failure(error, undefined, isInline);
  }
  if (request.ranges !== undefined) return runRanges(fn, input.args, request.ranges, isInline);
  let result: unknown;
  if (request.kind === CallKind.Apply) {
    try {
      result = fn(...(input.args as unknown[]));
      if (isThenable(result)) result = await result;
    } catch (error) {
      return failure(error, undefined, isInline);
    }
  } else {
    const chunk = await runChunk(fn, request.kind, input.args, input.from, input.to);
    if (chunk.failed) {
      let partial: unknown = [];
      let shared = false;
      try {
        const encoded = encodeResult(chunk.results);
        partial = encoded.value;
        shared = encoded.shared;
      } catch {
        // The results before the failing item cannot cross: the error still does.
      }
      const response = failure(chunk.error, partial, isInline);
      return { ...response, shared: response.shared || shared };
    }
    const packed = packResults(chunk.results);
    if (packed !== undefined) return { result: packed.packed, shared: false, packed: packed.kind } satisfies TaskResponse;
    result = chunk.results;
  }
  try {
    const encoded = encodeResult(result);
    const response: TaskResponse = { result: encoded.value, shared: encoded.shared };
    return encoded.transferList === undefined ? response : new Transfer(response, encoded.transferList);
  } catch (error) {
    return failure(error, undefined, isInline);
  }
}

const slots = options.slots;
/** The last read-ahead job taken: the next one starts only once it has ended (never rejects). */
let tail: Promise<unknown> = Promise.resolve();
const NOT_RUN: TaskResponse = { result: undefined, shared: false, notRun: true, threadId };

/**
 * Moves a read-ahead job's slot to STARTED before the task's first instruction (see SlotState);
 * false when the main thread cancelled it first (it must not run).
 */
function claim(word: number): boolean {
  Atomics.store(slots!, word + 1, threadId);
  const seen = Atomics.compareExchange(slots!, word, SlotState.Queued, SlotState.Started);
  if (seen === SlotState.Queued) return true;
  // HANDED: the main thread may still stop it (HANDED → CANCELLED) until this wins.
  return seen === SlotState.Handed && Atomics.compareExchange(slots!, word, SlotState.Handed, SlotState.Started) === SlotState.Handed;
}

/**
 * A read-ahead job (see SlotState): piscina hands this worker its next job
 * while one runs, so the jobs are chained and run one at a time, in the order
 * they came (as a worker of Python's runs them). The slot turns STARTED before
 * the task's first instruction, so that the main thread knows which job a dying
 * worker was running; one the main thread cancelled first is answered NOT_RUN.
 */
function answer(request: TaskRequest | PortAttachRequest): Promise<unknown> {
  if ('port' in request) return attach(request.port);
  if (request.slot === undefined || slots === undefined) return answerNow(request);
  const word = request.slot * SLOT_WORDS;
  const run = (): Promise<unknown> | TaskResponse => {
    if (!claim(word)) return NOT_RUN;
    return answerNow(request).finally(() => Atomics.store(slots, word, SlotState.Done));
  };
  const next = tail.then(run, run);
  tail = next;
  return next;
}

/** The port path's jobs, in the order they came; `portHead` is the next one to run. */
const portJobs: TaskRequest[] = [];
let portHead = 0;
let portRunning = false;

/**
 * The port path (see PortAttachRequest): from now on the main thread posts this worker's
 * jobs on `port` and reads the answers there, in the same order. The piscina job that
 * brought the port never settles: it keeps the worker busy in piscina's eyes (piscina
 * gives it nothing else and never parks its event loop) for the rest of its life.
 */
function attach(port: MessagePort): Promise<never> {
  port.on('message', (request: TaskRequest) => {
    portJobs.push(request);
    if (!portRunning) void runPortJobs(port);
  });
  return new Promise<never>(() => undefined);
}

/** Runs the port's jobs one at a time, in order, each claimed through its slot first; jobs that come meanwhile join the loop. */
async function runPortJobs(port: MessagePort): Promise<void> {
  portRunning = true;
  while (portHead < portJobs.length) {
    const request = portJobs[portHead]!;
    portJobs[portHead++] = undefined as never;
    if (portHead === portJobs.length) {
      portJobs.length = 0;
      portHead = 0;
    }
    const word = request.slot! * SLOT_WORDS;
    if (!claim(word)) {
      port.postMessage(NOT_RUN);
      continue;
    }
    if (request.bundle !== undefined) {
      await runBundle(port, request.bundle, word);
      continue;
    }
    const outcome = await handleTask(request);
    Atomics.store(slots!, word, SlotState.Done);
    post(port, outcome, undefined);
  }
  portRunning = false;
}

/** Posts a job's answer on the port, naming this thread (a bundle part's also its index and run time); a Transfer moves its buffers. */
function post(port: MessagePort, outcome: TaskResponse | Transfer, part: { readonly part: number; readonly ms: number } | undefined): void {
  if (outcome instanceof Transfer) {
    port.postMessage({ ...outcome.response, ...part, threadId }, outcome.transferList);
    return;
  }
  const answer = outcome as { threadId?: number; part?: number; ms?: number };
  answer.threadId = threadId;
  if (part !== undefined) {
    answer.part = part.part;
    answer.ms = part.ms;
  }
  port.postMessage(answer);
}

/**
 * A bundle (see BundleJob): its parts one after the other, each claimed through its state word
 * first and answered as it ends. A part's word turns DONE only once its answer is posted, so
 * that a part STARTED when this worker died had no answer out; the job's slot turns DONE before
 * the last answer goes (with it the main thread may give the slot to another job).
 */
async function runBundle(port: MessagePort, bundle: BundleJob, word: number): Promise<void> {
  const { parts, states } = bundle;
  const last = parts.length - 1;
  for (let part = 0; part <= last; part++) {
    if (Atomics.compareExchange(states, part, PartState.Queued, PartState.Started) !== PartState.Queued) {
      if (part === last) Atomics.store(slots!, word, SlotState.Done);
      port.postMessage({ ...NOT_RUN, part } satisfies TaskResponse);
      continue;
    }
    const started = performance.now();
    const outcome = await handleTask(parts[part]!);
    const ms = performance.now() - started;
    if (part === last) Atomics.store(slots!, word, SlotState.Done);
    post(port, outcome, { part, ms });
    Atomics.store(states, part, PartState.Done);
  }
}

export default (initializing ?? Promise.resolve()).then(() => answer);
