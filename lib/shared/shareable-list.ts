/**
 * ShareableList: Python's `multiprocessing.shared_memory.ShareableList`, a
 * fixed-length list of numbers, bigints, booleans, strings and nulls stored in
 * one SharedMemory block, attachable by name from any thread.
 *
 * Layout of the block (little-endian; our own, not Python's struct format):
 *   words 0..3      magic, length, 0, 0
 *   words 4+4i..    slot i: tag, byte length (strings), capacity, byte offset
 *   data            each slot's bytes, 8-byte aligned
 * Every slot has room for at least 8 bytes, so any slot takes any number,
 * bigint, boolean or null; a string slot has room for its first string's UTF-8
 * bytes rounded up to 8, as in Python.
 */
import { registerSharedType } from '../codec/codec';
import { InvalidArgumentError } from '../errors';
import { INTERNAL, describeValue, invalidArg } from '../validate';
import { readBounded, readOptions } from './read-options';
import { SharedMemory } from './shared-memory';

/** What a ShareableList slot holds. */
export type ShareableItem = number | bigint | boolean | string | null;

/** Options of {@link ShareableList}. */
export interface ShareableListOptions {
  /**
   * With values: the name of the new block (generated when omitted). Without
   * values: the name of the ShareableList to attach to.
   */
  readonly name?: string;
}

const MAGIC = 0x53484c53; // 'SHLS'
const HEADER_WORDS = 4;
const SLOT_WORDS = 4;
const TAG = 0;
const BYTE_LENGTH = 1;
const CAPACITY = 2;
const OFFSET = 3;
enum Tag {
  Null = 1,
  Boolean,
  Number,
  BigInt,
  String,
}
const MIN_SLOT_BYTES = 8;
/** The most items: what 2 GiB of slots hold (an iterable of unknown length gives at most 2^20: ./read-options). */
const MAX_ITEMS = Math.floor(2 ** 31 / (SLOT_WORDS * 4 + MIN_SLOT_BYTES));

const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;

function checkItem(value: unknown, name: string): asserts value is ShareableItem {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return;
    case 'string':
      // Stored as UTF-8, which has no lone surrogates: refuse rather than read back U+FFFD.
      if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
        throw invalidArg(name, 'a well-formed string (UTF-8 cannot hold a lone surrogate)', value);
      }
      return;
    case 'bigint':
      if (BigInt.asIntN(64, value) !== value) throw invalidArg(name, 'a bigint within the signed 64-bit range', value);
      return;
    default:
      if (value !== null) throw invalidArg(name, 'a number, bigint, boolean, string or null', value);
  }
}

function isPlainOptions(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function';
  } catch {
    return true; // a revoked Proxy: let the options check say so
  }
}

function isIterable(value: unknown): boolean {
  try {
    return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
  } catch {
    return false;
  }
}

class ShareableListImpl<T extends ShareableItem = ShareableItem> implements Iterable<T> {
  /** The block the list lives in: `list.shm.name` to attach elsewhere, `list.shm.unlink()` when done. */
  readonly shm: SharedMemory;
  /** The number of slots (fixed). */
  readonly length: number;
  readonly #words: Int32Array;
  readonly #data: DataView;
  readonly #bytes: Buffer;

  constructor(values?: Iterable<T> | ShareableListOptions | null, options?: ShareableListOptions);
  constructor(values?: Iterable<T> | ShareableListOptions | null | typeof INTERNAL, options?: ShareableListOptions | SharedMemory) {
    // The codec revives a list with the INTERNAL token (lib/validate.ts) and its block.
    if (values === INTERNAL) {
      this.shm = options as SharedMemory;
    } else {
      if (options === undefined && isPlainOptions(values)) {
        options = values as ShareableListOptions;
        values = undefined;
      }
      const { name } = readOptions('options', options, ['name']);
      if (name !== undefined && typeof name !== 'string') throw invalidArg('name', 'a string', name);
      if (values === undefined || values === null) {
        this.shm = name === undefined ? create([], undefined) : new SharedMemory({ name });
      } else {
        if (!isIterable(values) || typeof values === 'string') {
          throw invalidArg('values', 'an iterable of numbers, bigints, booleans, strings or nulls', values);
        }
        this.shm = create(readBounded('values', values as Iterable<T>, MAX_ITEMS), name);
      }
    }
    const buffer = this.shm.buf.buffer as SharedArrayBuffer;
    if (buffer.byteLength < HEADER_WORDS * 4 || new Int32Array(buffer, 0, 1)[0] !== MAGIC) {
      throw new InvalidArgumentError(`Shared memory block '${this.shm.name}' does not hold a ShareableList`);
    }
    this.length = new Int32Array(buffer, 4, 1)[0]!;
    this.#words = new Int32Array(buffer, 0, HEADER_WORDS + SLOT_WORDS * this.length);
    this.#data = new DataView(buffer);
    this.#bytes = Buffer.from(buffer);
  }

  /**
   * The item at `index` (negative counts from the end).
   * @throws RangeError when `index` is out of range.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when `index` is not an integer.
   * @example
   * list.get(-1);   // the last item
   */
  get(index: number): T {
    return this.#read(this.#slot(index)) as T;
  }

  /**
   * Stores `value` at `index`. Any slot takes a number, bigint (signed 64-bit),
   * boolean or null; a string must fit the slot's capacity (its first string's
   * UTF-8 length rounded up to 8 bytes, at least 8), as in Python.
   * @throws RangeError when `index` is out of range.
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for an unsupported value or a string too long for the slot.
   * @example
   * list.set(0, 'short');   // fits if slot 0 was created with a string of ≥ 5 bytes (or any 8-byte slot)
   */
  set(index: number, value: T): void {
    const slot = this.#slot(index);
    checkItem(value, 'value');
    write(this.#words, this.#data, this.#bytes, slot, value);
  }

  /**
   * A plain-array copy of the items.
   * @example
   * ShareableList([1, 'a']).toArray();   // [1, 'a']
   */
  toArray(): T[] {
    return [...this];
  }

  /** Iterates over the items. */
  *[Symbol.iterator](): Iterator<T> {
    for (let slot = 0; slot < this.length; slot++) yield this.#read(slot) as T;
  }

  /**
   * How many items equal `value` (Python's `count`).
   * @example
   * list.count(42);
   */
  count(value: T): number {
    let found = 0;
    for (const item of this) if (item === value) found++;
    return found;
  }

  /**
   * The first index holding `value` (Python's `index`).
   * @throws InvalidArgumentError (`ERR_INVALID_ARG`) when no item equals it.
   * @example
   * list.index('hello');   // 2
   */
  index(value: T): number {
    let at = 0;
    for (const item of this) {
      if (item === value) return at;
      at++;
    }
    throw new InvalidArgumentError(`${describeValue(value)} is not in the ShareableList`);
  }

  /** Python's repr: `ShareableList([1, 'a', null], name='psm_…')`. */
  toString(): string {
    const items = this.toArray().map((item) =>
      typeof item === 'string' ? `'${item}'` : typeof item === 'bigint' ? `${item}n` : String(item),
    );
    return `ShareableList([${items.join(', ')}], name='${this.shm.name}')`;
  }

  #slot(index: number): number {
    if (typeof index !== 'number' || !Number.isInteger(index)) throw invalidArg('index', 'an integer', index);
    const at = index < 0 ? index + this.length : index;
    if (at < 0 || at >= this.length) throw new RangeError(`Index ${index} is out of range for a ShareableList of length ${this.length}`);
    return at;
  }

  #read(slot: number): ShareableItem {
    const base = HEADER_WORDS + SLOT_WORDS * slot;
    const offset = this.#words[base + OFFSET]!;
    switch (Atomics.load(this.#words, base + TAG)) {
      case Tag.Boolean:
        return this.#data.getUint8(offset) !== 0;
      case Tag.Number:
        return this.#data.getFloat64(offset, true);
      case Tag.BigInt:
        return this.#data.getBigInt64(offset, true);
      case Tag.String:
        return this.#bytes.toString('utf8', offset, offset + this.#words[base + BYTE_LENGTH]!);
      default:
        return null;
    }
  }
}
Object.defineProperty(ShareableListImpl, 'name', { value: 'ShareableList' });

function write(words: Int32Array, data: DataView, bytes: Buffer, slot: number, value: ShareableItem): void {
  const base = HEADER_WORDS + SLOT_WORDS * slot;
  const offset = words[base + OFFSET]!;
  let tag: Tag;
  let byteLength = 0;
  if (value === null) {
    tag = Tag.Null;
  } else if (typeof value === 'boolean') {
    tag = Tag.Boolean;
    data.setUint8(offset, value ? 1 : 0);
  } else if (typeof value === 'number') {
    tag = Tag.Number;
    data.setFloat64(offset, value, true);
  } else if (typeof value === 'bigint') {
    tag = Tag.BigInt;
    data.setBigInt64(offset, value, true);
  } else {
    tag = Tag.String;
    byteLength = Buffer.byteLength(value, 'utf8');
    const capacity = words[base + CAPACITY]!;
    if (byteLength > capacity) {
      throw new InvalidArgumentError(
        `Expected \`value\` to fit slot ${slot} (${capacity} bytes of UTF-8), got a string of ${byteLength} bytes: a ShareableList's string slots keep the size they were created with`,
      );
    }
    bytes.write(value, offset, byteLength, 'utf8');
  }
  words[base + BYTE_LENGTH] = byteLength;
  Atomics.store(words, base + TAG, tag);
}

/** Lays out and fills a new block for `items`. */
function create(items: unknown[], name: string | undefined): SharedMemory {
  items.forEach((item, index) => {
    checkItem(item, `values[${index}]`);
  });
  const capacities = (items as ShareableItem[]).map((item) =>
    typeof item === 'string' ? Math.max(MIN_SLOT_BYTES, roundUp8(Buffer.byteLength(item, 'utf8'))) : MIN_SLOT_BYTES,
  );
  const dataStart = roundUp8((HEADER_WORDS + SLOT_WORDS * items.length) * 4);
  const size = dataStart + capacities.reduce((sum, capacity) => sum + capacity, 0);
  const shm = new SharedMemory(name === undefined ? { create: true, size } : { name, create: true, size });
  const buffer = shm.buf.buffer as SharedArrayBuffer;
  const words = new Int32Array(buffer, 0, HEADER_WORDS + SLOT_WORDS * items.length);
  const data = new DataView(buffer);
  const bytes = Buffer.from(buffer);
  let offset = dataStart;
  items.forEach((item, slot) => {
    const base = HEADER_WORDS + SLOT_WORDS * slot;
    words[base + CAPACITY] = capacities[slot]!;
    words[base + OFFSET] = offset;
    offset += capacities[slot]!;
    write(words, data, bytes, slot, item as ShareableItem);
  });
  words[1] = items.length;
  Atomics.store(words, 0, MAGIC);
  return shm;
}

/** A ShareableList whose items are of type `T`. */
export type ShareableList<T extends ShareableItem = ShareableItem> = ShareableListImpl<T>;

/** `ShareableList` is callable with or without `new`. */
export interface ShareableListConstructor {
  new <T extends ShareableItem = ShareableItem>(values?: Iterable<T> | null, options?: ShareableListOptions): ShareableList<T>;
  new <T extends ShareableItem = ShareableItem>(options: ShareableListOptions): ShareableList<T>;
  <T extends ShareableItem = ShareableItem>(values?: Iterable<T> | null, options?: ShareableListOptions): ShareableList<T>;
  <T extends ShareableItem = ShareableItem>(options: ShareableListOptions): ShareableList<T>;
  readonly prototype: ShareableList;
}

/**
 * A fixed-length list in shared memory (Python's `ShareableList`): create it
 * from values, or attach to one by name from any thread. Items are numbers
 * (stored as float64), bigints (signed 64-bit), booleans, strings (UTF-8) and
 * `null`; any slot can later take any of these, except that a string must fit
 * the slot's byte capacity (the slot's first string rounded up to 8 bytes, at
 * least 8; to reserve room, create it with a long placeholder string).
 * Like Python's, it is not synchronized: guard concurrent writers with a Lock.
 * Free it with `list.shm.unlink()`.
 *
 * @default values [] (an empty list)
 * @throws InvalidArgumentError (`ERR_INVALID_ARG`) for unsupported items (a string with a lone surrogate
 *   included: UTF-8 cannot hold it), more items than 2 GiB of slots hold or than 2^20 from an iterable of unknown length (an endless one), or a block
 *   that holds no ShareableList.
 * @throws SharedMemoryExistsError (`ERR_SHM_EXISTS`) when `name` is taken (creating).
 * @throws SharedMemoryNotFoundError (`ERR_SHM_NOT_FOUND`) when no block has that name (attaching).
 * @example
 * const list = ShareableList([1, 2.5, 'hello', true, null, 2n ** 40n]);
 * await pool.apply(work, [list.shm.name]);   // the task: ShareableList(null, { name }) or ShareableList({ name })
 * list.get(2);                                // 'hello'
 * list.shm.close(); list.shm.unlink();
 */
export const ShareableList = new Proxy(ShareableListImpl, {
  apply: (target, _this, args: [Iterable<ShareableItem> | null | undefined, ShareableListOptions | undefined]) => new target(...args),
}) as unknown as ShareableListConstructor;

registerSharedType(ShareableListImpl, 'parapool.ShareableList', {
  encode: (list) => ({ shm: list.shm }),
  decode: ({ shm }: { shm: SharedMemory }) =>
    new (ShareableListImpl as unknown as new (token: typeof INTERNAL, shm: SharedMemory) => ShareableListImpl)(INTERNAL, shm),
});
