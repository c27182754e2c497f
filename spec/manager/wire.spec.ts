import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { callFrame, frame, MAX_FRAME, readFrames, RemoteRef, replyFrame } from '../../lib/manager/wire';

/** Feeds `chunks` to readFrames as a socket's data events; what it read, and why it stopped if it did. */
function read(chunks: Buffer[]): { frames: unknown[]; bad: string | undefined } {
  const socket = new EventEmitter();
  const frames: unknown[] = [];
  let bad: string | undefined;
  readFrames(
    socket as unknown as net.Socket,
    (value) => frames.push(value),
    (reason) => {
      bad = reason;
    },
  );
  for (const chunk of chunks) socket.emit('data', chunk);
  return { frames, bad };
}

describe('manager wire frames', () => {
  const ref = new RemoteRef(7, 'dict', ['get', 'set']);
  const frames = [
    callFrame(0, 1, 'set', ['k', 1]),
    callFrame(2 ** 32 - 1, -1, 'méthode', [{ a: [1, 'x'] }, new Map([[1, ref]]), 'ünïcode ✓']),
    callFrame(3, 2, 'set', [new Uint8Array([1, 2])]), // not compact: devalue text
    callFrame(2 ** 32, 2, 'set', []), // past a uint32: devalue text
    replyFrame(4, true, undefined),
    replyFrame(5, true, [ref, 2n ** 70n]),
    replyFrame(6, false, { name: 'Error', message: 'no', code: 'ERR_X' }),
    replyFrame(7, true, new Float64Array([1.5])),
    frame({ t: 'decref', id: 3 }),
  ];
  const expected = [
    { t: 'call', seq: 0, id: 1, m: 'set', a: ['k', 1] },
    { t: 'call', seq: 2 ** 32 - 1, id: -1, m: 'méthode', a: [{ a: [1, 'x'] }, new Map([[1, ref]]), 'ünïcode ✓'] },
    { t: 'call', seq: 3, id: 2, m: 'set', a: [new Uint8Array([1, 2])] },
    { t: 'call', seq: 2 ** 32, id: 2, m: 'set', a: [] },
    { t: 'reply', seq: 4, ok: undefined },
    { t: 'reply', seq: 5, ok: [ref, 2n ** 70n] },
    { t: 'reply', seq: 6, err: { name: 'Error', message: 'no', code: 'ERR_X' } },
    { t: 'reply', seq: 7, ok: new Float64Array([1.5]) },
    { t: 'decref', id: 3 },
  ];

  test('calls and replies round-trip, in one chunk, one byte at a time, and in any split', () => {
    const all = Buffer.concat(frames);
    expect(read([all])).toEqual({ frames: expected, bad: undefined });
    expect(read([...all].map((byte) => Buffer.from([byte])))).toEqual({ frames: expected, bad: undefined });
    for (let cut = 1; cut < all.length; cut += 7) {
      expect(read([all.subarray(0, cut), all.subarray(cut)])).toEqual({ frames: expected, bad: undefined });
    }
    expect((read([all]).frames[1] as { a: unknown[] }).a[1]).toEqual(new Map([[1, ref]]));
  });

  test('an oversized length is refused before its bytes come; a malformed or __proto__ frame stops the reading', () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(MAX_FRAME + 1, 0);
    const first = callFrame(1, 1, 'get', ['k']);
    expect(read([first, huge])).toEqual({
      frames: [{ t: 'call', seq: 1, id: 1, m: 'get', a: ['k'] }],
      bad: expect.stringMatching(/over the limit/),
    });
    const proto = callFrame(1, 1, 'set', [JSON.parse('{"__proto__": {"polluted": true}}')]);
    expect(read([proto, first]).bad).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const truncated = Buffer.from([0, 0, 0, 3, 1, 0, 0]);
    expect(read([truncated, first]).frames).toEqual([]);
    expect(read([truncated]).bad).toMatch(/truncated/);
    const tail = Buffer.from(first);
    tail.writeUInt32BE(first.length - 3, 0); // one byte short: bytes left after the arguments
    expect(read([tail, Buffer.from([0])]).bad).toMatch(/malformed/);
  });
});
