/**
 * Helpers of the contract specs (API.md §8): how a call reported its error, and
 * hostile values to hand it.
 */

/** The `code` a synchronous call threw, `raw <name>` for an uncoded error, or `no error`. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? `raw ${(error as Error).name}`;
  }
  return 'no error';
}

/** Calls `fn`, which must return a promise that rejects (a synchronous throw is reported as such); resolves to the code. */
export async function rejectionCode(fn: () => Promise<unknown>): Promise<string | undefined> {
  let promise: Promise<unknown>;
  try {
    promise = fn();
  } catch (error) {
    return `threw synchronously: ${(error as { code?: string }).code}`;
  }
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return 'resolved';
}

/** A revoked Proxy: every operation on it throws a raw TypeError. */
export function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** A Proxy whose every property read throws. */
export const throwing: object = new Proxy(
  {},
  {
    get() {
      throw new Error('trap');
    },
  },
);
