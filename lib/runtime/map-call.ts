/**
 * A whole-list map (Pool.map, Pool.starmap): the input is read to the end and
 * validated before the first chunk is sent, then chunks run in completion
 * order and their results are written at their positions.
 */
import { ChunkRun } from './chunk-run';
import { materialize, openSource } from './chunk-source';
import { encode } from '../codec/codec';
import type { Dispatcher } from './dispatch';
import { CallKind, type TaskSpec } from './protocol';

/** Python's default chunksize for map: ceil(n / (4 × workers)). */
export function defaultChunksize(itemCount: number, workers: number): number {
  return Math.max(1, Math.ceil(itemCount / (4 * workers)));
}

export interface MapCall {
  readonly dispatcher: Pick<Dispatcher, 'submit' | 'cancel'>;
  readonly workers: number;
  readonly spec: TaskSpec;
  readonly kind: CallKind;
  readonly items: Iterable<unknown> | AsyncIterable<unknown>;
  /** How the input is named in ERR_UNCLONEABLE paths. */
  readonly rootName: string;
  readonly chunksize: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number, total?: number) => void) | undefined;
}

export async function mapCall(call: MapCall): Promise<unknown[]> {
  const all = await materialize(call.items, call.rootName);
  const results: unknown[] = new Array(all.length);
  if (all.length === 0) return results;
  const chunksize = call.chunksize ?? defaultChunksize(all.length, call.workers);
  const source = openSource(all, chunksize, call.rootName, call.kind === CallKind.Map);
  // Every item is checked before anything is sent (an input of numbers needs no walk).
  if (!source.allNumbers && all.some((item) => typeof item === 'object' || typeof item === 'function' || typeof item === 'symbol')) {
    encode(all, call.rootName);
  }
  return new Promise<unknown[]>((resolve, reject) => {
    new ChunkRun(
      call.dispatcher,
      {
        spec: call.spec,
        kind: call.kind,
        source,
        ordered: false,
        readAhead: call.workers * 4,
        rootName: call.rootName,
        signal: call.signal,
        onProgress: call.onProgress,
        release: 'auto',
      },
      {
        results(values, offset) {
          for (let i = 0; i < values.length; i++) results[offset + i] = values[i];
        },
        failed: reject,
        done: () => resolve(results),
      },
    ).start();
  });
}
