/**
 * Tasks of varying duration, for showing results in completion order
 * (tutorial 002, "Processing Results as They Complete"). Plain functions: this
 * module runs in a worker thread as a task module and knows nothing about parapool.
 */

/**
 * The seed's `variable_computation(task_id)`: sums `0..iterations-1`, where
 * `iterations` is random in [1,000,000, 10,000,000] unless given, and returns
 * `[taskId, iterations, sum]`, so the duration varies from task to task.
 *
 * @example
 * variableComputation(3, 1_000_000); // [3, 1000000, 499999500000]
 */
export function variableComputation(
  taskId: number,
  iterations = 1_000_000 + Math.floor(Math.random() * 9_000_001),
): [number, number, number] {
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum += i;
  return [taskId, iterations, sum];
}

/**
 * Waits `ms` milliseconds (without using the CPU), then returns `taskId`: a
 * task whose duration is chosen by the caller.
 *
 * @example
 * await nap(1, 50); // 1, after 50 ms
 */
export async function nap(taskId: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return taskId;
}
