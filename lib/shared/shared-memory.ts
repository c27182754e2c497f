/**
 * SharedMemory: Python's `multiprocessing.shared_memory.SharedMemory` for
 * threads. A named block of raw bytes that any thread of the process can
 * attach to by name, synchronously (see `shm-directory.ts` for how).
 */
import { randomBytes } from 'node:crypto';
import { registerSharedType } from '../codec/codec';
import { InvalidStateError, SharedMemoryExistsError, SharedMemoryNotFoundError } from '../errors';
import { INTERNAL, checkBoolean, invalidArg } from '../validate';
import { readOptions } from './read-options';
import { directory, isLive, type BlockRecord } from './shm-directory';

/** Options of {@link SharedMemory}. */
export interface SharedMemoryOptions {
  /**
   * The block's name. Required to attach; optional when creating (a unique
   * `psm_…` name is generated, like Python).
   */
  readonly name?: string;
  /**
   * Create a new block (`true`) or attach to an existing one (`false`).
   * @default false
   */
  readonly create?: boolean;
  /**
   * Size in bytes of a new block, at least 1. Ignored when attaching (the
   * block's own size is used), as in Python.
   * @default 0
   */
  readonly size?: number;
}

/** The longest block name, as POSIX `shm_open` allows (NAME_MAX). */
const MAX_NAME_LENGTH = 255;

interface SharedMemoryDescriptor {
  name: string;
  data: SharedArrayBuffer;
  header: SharedArrayBuffer;
}

/** The codec's view of a handle (set by the class, which alone reaches its private state). */
let describeBlock: (shm: SharedMemory) => SharedMemoryDescriptor;

/**
 * A named block of shared memory, zero-filled when created. `buf` is a
 * `Uint8Array` over exactly `size` bytes whose `.buffer` is the block's
 * `SharedArrayBuffer`, so any typed array can be laid over it
 * (`new Float64Array(shm.buf.buffer)`).
 *
 * Attaching by name works in every thread of the process, also in a worker that
 * was idle (parked in `Atomics.wait`) when the block was created. One case needs
 * the main thread's event loop to be running: a worker that was started before
 * the block existed and had not loaded parapool yet when it was created asks the
 * main thread for it (waiting at most 10 s, then `ERR_TIMEOUT`). Passing the
 * `SharedMemory` object itself to a task never needs that.
 *
 * Memory is freed when every handle in every thread is gone (garbage collected)
 * and the block is unlinked; until `unlink()` the process-wide directory keeps it.
 * Unlike Python's, a closed handle cannot be reopened and `size` is exact (not
 * rounded to a page).
 *
 * @example
 * const shm = new SharedMemory({ create: true, size: 1024 });
 * await pool.apply(fill, [shm.name]);            // the worker: new SharedMemory({ name })
 * console.log(shm.buf[0]);
 * shm.close();
 * shm.unlink();
 *
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) on bad options, `size` ≤ 0 when creating, a `size` that
 *   cannot be allocated (more than `os.totalmem()`, or more than V8 can reserve), a `name` that is not a string of 1 to 255 characters, or no `name` when attaching.
 * @throws SharedMemoryExistsError (`ERR_SHM_EXISTS`) when creating a name that exists.
 * @throws SharedMemoryNotFoundError (`ERR_SHM_NOT_FOUND`) when attaching to a name that does not exist or was unlinked.
 */
export class SharedMemory {
  readonly #name: string;
  readonly #record: BlockRecord;
  #buf: Uint8Array | undefined;

  /** Creates (`{ create: true, size }`) or attaches to (`{ name }`, or just the name) a block. */
  constructor(options: SharedMemoryOptions | string);
  constructor(options: SharedMemoryOptions | string | typeof INTERNAL, revived?: SharedMemoryDescriptor) {
    // The codec revives a handle with the INTERNAL token (lib/validate.ts) and the block it names.
    if (options === INTERNAL) {
      this.#name = revived!.name;
      this.#record = { data: revived!.data, header: revived!.header };
      this.#buf = new Uint8Array(this.#record.data);
      return;
    }
    const { name, create, size } = readSharedMemoryOptions(typeof options === 'string' ? { name: options } : options);
    if (create) {
      if (size <= 0) throw invalidArg('size', 'an integer from 1 and up when creating', size);
      if (name === undefined) {
        let record: BlockRecord | undefined;
        let generated: string;
        do {
          generated = `psm_${randomBytes(4).toString('hex')}`;
          record = directory.create(generated, size);
        } while (record === undefined);
        this.#name = generated;
        this.#record = record;
      } else {
        const record = directory.create(name, size);
        if (record === undefined) throw new SharedMemoryExistsError(`A shared memory block named '${name}' already exists`);
        this.#name = name;
        this.#record = record;
      }
    } else {
      if (name === undefined) throw invalidArg('name', 'a block name when attaching (`create` is false)', name);
      const record = directory.lookup(name);
      if (record === undefined) throw new SharedMemoryNotFoundError(`No shared memory block named '${name}'`);
      this.#name = name;
      this.#record = record;
    }
    this.#buf = new Uint8Array(this.#record.data);
  }

  /**
   * The block's name, the one to attach with.
   * @example
   * await pool.apply(work, [shm.name]);   // the task: new SharedMemory({ name })
   */
  get name(): string {
    return this.#name;
  }

  /**
   * The block's size in bytes. Still readable after `close()`.
   * @example
   * const doubles = new Float64Array(shm.buf.buffer, 0, shm.size / 8);
   */
  get size(): number {
    return this.#record.data.byteLength;
  }

  /**
   * The block's bytes.
   * @throws InvalidStateError (`ERR_INVALID_STATE`) after `close()`.
   * @example
   * shm.buf.set([1, 2, 3]);
   */
  get buf(): Uint8Array {
    if (this.#buf === undefined) throw new InvalidStateError(`SharedMemory '${this.#name}' is closed`);
    return this.#buf;
  }

  /**
   * True after `close()` on this handle.
   * @example
   * if (!shm.closed) shm.buf[0] = 1;
   */
  get closed(): boolean {
    return this.#buf === undefined;
  }

  /**
   * Detaches this handle: `buf` becomes unusable here; other handles are not
   * affected. Calling it again does nothing. Does not destroy the block: see `unlink()`.
   * @example
   * const view = new SharedMemory({ name }); use(view.buf); view.close();
   */
  close(): void {
    this.#buf = undefined;
  }

  /**
   * Destroys the block's name for the whole process: attaching to it from any
   * thread then fails with `ERR_SHM_NOT_FOUND`, and the name can be created again.
   * Handles already open keep working until closed. Call it once, usually from
   * the creator, as in Python.
   *
   * @throws SharedMemoryNotFoundError (`ERR_SHM_NOT_FOUND`) when the block was already unlinked.
   * @example
   * shm.close();
   * shm.unlink();   // like Python: the creator unlinks once, when everyone is done
   */
  unlink(): void {
    if (!directory.unlink(this.#name, this.#record)) {
      throw new SharedMemoryNotFoundError(`Shared memory block '${this.#name}' was already unlinked`);
    }
  }

  /**
   * True once some handle, in any thread, unlinked the block.
   * @example
   * if (!shm.unlinked) shm.unlink();
   */
  get unlinked(): boolean {
    return !isLive(this.#record);
  }

  /** `using shm = new SharedMemory(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  static {
    describeBlock = (shm) => {
      if (shm.#buf === undefined) throw new InvalidStateError(`SharedMemory '${shm.#name}' is closed and cannot be sent to another thread`);
      return { name: shm.#name, data: shm.#record.data, header: shm.#record.header };
    };
  }
}

function readSharedMemoryOptions(options: unknown): { name: string | undefined; create: boolean; size: number } {
  const { name, create, size } = readOptions('options', options, ['name', 'create', 'size']);
  if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH)) {
    throw invalidArg('name', `a non-empty string of at most ${MAX_NAME_LENGTH} characters`, name);
  }
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw invalidArg('size', 'an integer number of bytes from 1 and up', size);
  }
  return { name, create: checkBoolean('create', create) ?? false, size: size ?? 0 };
}

registerSharedType(SharedMemory, 'parapool.SharedMemory', {
  encode: (shm) => describeBlock(shm),
  decode: (descriptor: SharedMemoryDescriptor) =>
    new (SharedMemory as unknown as new (token: typeof INTERNAL, descriptor: SharedMemoryDescriptor) => SharedMemory)(INTERNAL, descriptor),
});
