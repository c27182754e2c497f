// workers/primes.ts: a plain module of exported functions; it does not import parapool
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export function countPrimes(start: number, end: number): number {
  let count = 0;
  for (let n = start; n < end; n++) if (isPrime(n)) count++;
  return count;
}
