import { UncloneableError } from '../../lib/errors';
import { inlineSource } from '../../lib/tasks/inline';

const outer = 10;
const helper = (x: number): number => x + 1;

function capturedNames(fn: (...args: never[]) => unknown): string {
  try {
    inlineSource(fn as never);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(UncloneableError);
    return [...(error as Error).message.matchAll(/`([^`]+)`/g)]
      .map((m) => m[1])
      .filter((n) => n !== 'fn')
      .join(',');
  }
}

describe('inline task functions', () => {
  it('accepts self-contained functions of every form', () => {
    const accepted: Array<(...args: never[]) => unknown> = [
      (x: number) => x * 2,
      function named(n: number): number {
        // biome-ignore lint/complexity/noArguments: the test is that `arguments` works inside an inline function
        return n > 1 ? named(n - 1) : arguments.length;
      },
      async (a: number, b: number) => Math.max(a, b),
      ({ a, b: [c, ...rest] = [1] }: { a: number; b?: number[] }, ...more: number[]) => a + c + rest.length + more.length,
      (items: number[]) => {
        let total = 0;
        for (const item of items) total += item;
        try {
          JSON.parse('x');
        } catch (problem) {
          total += String(problem).length > 0 ? 0 : 1;
        }
        class Local {
          value = total;
        }
        const fn = function inner(): number {
          return new Local().value;
        };
        for (;;) break;
        return fn() + [1, 2].map((v) => v).length + new Map().size + Object.keys({ key: 1 }).length;
      },
      (n: number) => {
        var hoisted: number;
        hoisted = n;
        return typeof globalThis.process === 'object' ? hoisted : 0;
      },
    ];
    for (const fn of accepted) expect(capturedNames(fn)).toBe('');
    const method = {
      area(r: number) {
        return Math.PI * r * r;
      },
    }.area;
    expect(inlineSource(method as never)).toContain('Object.values');
  });

  it('names every captured variable', () => {
    expect(capturedNames((x: number) => x * outer)).toBe('outer');
    expect(capturedNames((x: number) => helper(x) + outer)).toBe('helper,outer');
    expect(capturedNames((x: number) => ({ outer }).outer + x)).toBe('outer');
    expect(capturedNames((x = outer) => x)).toBe('outer');
    expect(capturedNames(() => require('node:os'))).toBe('require');
    expect(capturedNames((o: Record<string, number>) => o[String(outer)])).toBe('outer');
  });

  it('does not mistake property names, keys and labels for captures', () => {
    expect(capturedNames((o: { outer: number }) => o.outer)).toBe('');
    expect(
      capturedNames(() => ({
        outer: 1,
        helper() {
          return 2;
        },
      })),
    ).toBe('');
  });

  it('rejects native and bound functions and classes with ERR_INVALID_ARG', () => {
    expect(() => inlineSource(Math.max as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => inlineSource(((x: number) => x).bind(null) as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => inlineSource(class Foo {} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
