// pool-options.ts: every Pool option
import { Pool, tasks } from 'parapool';

const setup = tasks<typeof import('./workers/setup.js')>(new URL('./workers/setup.js', import.meta.url));

await using pool = new Pool({
  workers: 2, // default: os.availableParallelism()
  initializer: setup.init, // runs once in each worker before its first task
  initargs: ['config.json'],
  maxTasksPerChild: 1000, // replace a worker after 1000 tasks (a chunk counts as one)
  resourceLimits: { maxOldGenerationSizeMb: 512 },
});
console.log(await pool.apply(setup.configOf)); // config.json
