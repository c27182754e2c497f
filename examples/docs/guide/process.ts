// process.ts: one worker thread of its own, like multiprocessing.Process
import { Process, tasks } from 'parapool';

const jobs = tasks<typeof import('./workers/jobs.js')>(new URL('./workers/jobs.js', import.meta.url));

const p = new Process({ target: jobs.render, args: ['scene.json'], name: 'renderer' });
p.start();
await p.join({ timeout: 60_000 });
console.log(p.exitCode); // 0; null while running, 1 after an uncaught error (p.error keeps it), n after process.exit(n), negative after terminate()/kill()
