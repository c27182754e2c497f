// workers/slow.ts: a task that takes a while
export async function work(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}
