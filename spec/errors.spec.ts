import * as fs from 'node:fs';
import * as path from 'node:path';
import * as parapool from '../lib';
import { ERROR_CLASSES, errorClassesByCode, isParapoolError, ParapoolError, TimeoutError, InvalidStateError } from '../lib/errors';

const root = path.join(__dirname, '..');

describe('error classes (lib/errors.ts)', () => {
  it.each(ERROR_CLASSES.map((cls) => [cls.name, cls] as const))('%s: exported, named, coded, documented', (name, cls) => {
    const error = new cls('boom', { exitCode: 3 } as never);
    expect((parapool as Record<string, unknown>)[name]).toBe(cls);
    expect(error.name).toBe(name);
    expect(error.message).toBe('boom');
    expect(error.code).toBe(cls.code);
    expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ParapoolError);
    expect(error).toBeInstanceOf(cls);
    expect(isParapoolError(error)).toBe(true);
    expect(errorClassesByCode.get(cls.code)).toBe(cls);
    for (const other of ERROR_CLASSES) if (other !== cls) expect(error instanceof other).toBe(false);
  });

  it('codes are unique', () => {
    expect(new Set(ERROR_CLASSES.map((cls) => cls.code)).size).toBe(ERROR_CLASSES.length);
  });

  it('docs/errors.md has a row for every code and class', () => {
    const page = fs.readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
    const rows = [...page.matchAll(/^\| `(ERR_[A-Z_]+)`\s*\| `(\w+)`\s*\|/gm)].map((match) => [match[1], match[2]]);
    expect(rows.sort()).toEqual(ERROR_CLASSES.map((cls) => [cls.code, cls.name]).sort());
  });

  it('the base class carries no concrete code', () => {
    const base = new ParapoolError('x');
    expect(base instanceof ParapoolError).toBe(true);
    expect(base instanceof InvalidStateError).toBe(false);
    expect(base.code).toBeUndefined();
  });

  it("a user's subclass matches its own instances only; they still match parapool's class", () => {
    class RetryableTimeout extends TimeoutError {}
    const plain = new TimeoutError('plain');
    const mine = new RetryableTimeout('mine');
    expect(plain instanceof RetryableTimeout).toBe(false);
    expect(mine instanceof RetryableTimeout).toBe(true);
    expect(mine instanceof TimeoutError).toBe(true);
    expect(mine.code).toBe('ERR_TIMEOUT');
    expect(mine.name).toBe('RetryableTimeout');
  });

  it("matches another copy's errors by marker and code, not by prototype", () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'ERR_TIMEOUT' });
    Object.defineProperty(foreign, Symbol.for('parapool.error'), { value: true });
    expect(foreign instanceof TimeoutError).toBe(true);
    expect(foreign instanceof ParapoolError).toBe(true);
    expect(foreign instanceof InvalidStateError).toBe(false);
    expect(Object.assign(new Error('look-alike'), { code: 'ERR_TIMEOUT' }) instanceof TimeoutError).toBe(false);
  });
});
