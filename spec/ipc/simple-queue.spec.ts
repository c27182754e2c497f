/** SimpleQueue: the small unbounded queue's surface. */
import { decode, encode } from '../../lib/codec/codec';
import { SimpleQueue } from '../../lib/ipc/simple-queue';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('SimpleQueue', () => {
  it('put/get/getSync/empty/close', async () => {
    const q = new SimpleQueue<unknown>();
    expect(q.empty()).toBe(true);
    q.put(1);
    q.put({ a: [1, 2] });
    q.put(new Map([[1, 2]]));
    expect(q.empty()).toBe(false);
    expect(await q.get()).toBe(1);
    expect(q.getSync()).toEqual({ a: [1, 2] });
    expect(q.getSync({ timeout: 10 })).toEqual(new Map([[1, 2]]));
    expect(codeOf(() => q.getSync({ blocking: false }))).toBe('ERR_QUEUE_EMPTY');
    await expect(q.get({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_QUEUE_EMPTY' });
    const later = q.get();
    setTimeout(() => q.put('late'), 10);
    expect(await later).toBe('late');
    const copy = decode(encode(q).value) as SimpleQueue<unknown>;
    expect(copy).toBeInstanceOf(SimpleQueue);
    copy.put('from the copy');
    q.close();
    expect(q.closed).toBe(true);
    expect(codeOf(() => q.put(1))).toBe('ERR_QUEUE_CLOSED');
    await expect(q.get()).rejects.toMatchObject({ code: 'ERR_QUEUE_CLOSED' });
    expect(copy.getSync()).toBe('from the copy');
    expect(codeOf(() => q.put({ f() {} }))).toBe('ERR_QUEUE_CLOSED');
    expect(codeOf(() => copy.put({ f() {} }))).toBe('ERR_UNCLONEABLE');
    copy.close();
  });
});
