/**
 * lib/shared against API.md §5 and §8: huge or junk sizes and names give
 * ERR_INVALID_ARG (never a raw RangeError), endless iterables are read only
 * as far as a fixed-length object can hold, and ShareableList either keeps a
 * string exactly or refuses it with a code.
 */
import { Array as SharedArrayOf, RawArray } from '../../lib/shared/array';
import { MAX_ITERATED } from '../../lib/shared/read-options';
import { ShareableList } from '../../lib/shared/shareable-list';
import { SharedMemory } from '../../lib/shared/shared-memory';
import { RawValue, Value } from '../../lib/shared/value';
import { codeOf, revoked, throwing } from '../helpers/contract';

function* endless(): Generator<number> {
  for (let i = 0; ; i++) yield i & 0x7f;
}

describe('SharedMemory sizes and names', () => {
  it('a size that cannot be allocated (2^40, 2^53 - 1) is ERR_INVALID_ARG, not a RangeError', () => {
    expect(codeOf(() => new SharedMemory({ create: true, size: 2 ** 40 }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => new SharedMemory({ create: true, size: Number.MAX_SAFE_INTEGER }))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => new SharedMemory({ name: 'psm_huge', create: true, size: 2 ** 40 }))).toBe('ERR_INVALID_ARG');
    // Nothing was registered by the failed create.
    expect(codeOf(() => new SharedMemory({ name: 'psm_huge' }))).toBe('ERR_SHM_NOT_FOUND');
  });

  it('junk sizes, names and options are ERR_INVALID_ARG', () => {
    for (const size of [-1, 0, 1.5, Number.NaN, Infinity, 2 ** 60, '10', 10n, null, {}]) {
      expect(codeOf(() => new SharedMemory({ create: true, size } as never))).toBe('ERR_INVALID_ARG');
    }
    for (const name of ['', 'x'.repeat(256), 5, {}, revoked()]) {
      expect(codeOf(() => new SharedMemory({ name, create: true, size: 8 } as never))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => new SharedMemory({ name } as never))).toBe('ERR_INVALID_ARG');
    }
    for (const options of [revoked(), throwing, 42, [], null]) {
      expect(codeOf(() => new SharedMemory(options as never))).toBe('ERR_INVALID_ARG');
    }
    const long = new SharedMemory({ name: `psm_${'n'.repeat(251)}`, create: true, size: 8 });
    long.unlink();
  });
});

describe('fixed-length objects from iterables', () => {
  it('Array(typecode, endless iterable) stops reading and fails with ERR_INVALID_ARG', () => {
    expect(codeOf(() => SharedArrayOf('i', endless()))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => RawArray('b', endless()))).toBe('ERR_INVALID_ARG');
  });

  it('an iterable of unknown length gives up to MAX_ITERATED values; arrays and typed arrays go by their length', () => {
    expect(SharedArrayOf('i', new Set([1, 2, 3])).toArray()).toEqual([1, 2, 3]);
    expect(RawArray('b', new Int8Array([1, 2])).toArray()).toEqual([1, 2]);
    expect(MAX_ITERATED).toBe(2 ** 20);
  });

  it('setSlice reads no more than one past the slice from an endless iterable', () => {
    const arr = RawArray('i', 4);
    expect(codeOf(() => arr.setSlice(0, 4, endless()))).toBe('ERR_INVALID_ARG');
    expect(arr.toArray()).toEqual([0, 0, 0, 0]);
  });

  it('ShareableList(endless iterable) fails with ERR_INVALID_ARG', () => {
    expect(codeOf(() => ShareableList(endless()))).toBe('ERR_INVALID_ARG');
  });

  it('an iterable whose iterator throws, and Proxies, give ERR_INVALID_ARG', () => {
    const broken = {
      [Symbol.iterator]() {
        return {
          next(): IteratorResult<number> {
            throw new Error('boom');
          },
        };
      },
    };
    expect(codeOf(() => SharedArrayOf('i', broken))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => ShareableList(broken))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => SharedArrayOf('i', revoked() as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => SharedArrayOf('i', 3, revoked() as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => SharedArrayOf('i', 3, throwing as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => Value('i', revoked() as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => Value('i', 0, throwing as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => RawValue('d', throwing as never))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => ShareableList([1], revoked() as never))).toBe('ERR_INVALID_ARG');
  });
});

describe('ShareableList strings', () => {
  it('keeps well-formed strings exactly and refuses lone surrogates with ERR_INVALID_ARG (never U+FFFD)', () => {
    const list = ShareableList<string>(['é 漢字 🎉', 'placeholder!']);
    expect(list.get(0)).toBe('é 漢字 🎉');
    expect(codeOf(() => ShareableList(['\ud800']))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => ShareableList(['ok', 'a\udfffb']))).toBe('ERR_INVALID_ARG');
    expect(codeOf(() => list.set(1, '\ud83d'))).toBe('ERR_INVALID_ARG');
    expect(list.get(1)).toBe('placeholder!');
    list.shm.unlink();
  });
});
