// The built package (dist/, made by `npm run build`, which `npm test` runs
// first) imported the ways users import it: ESM `import`, CommonJS `require`,
// with a TypeScript task module that runs with no build step.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.join(__dirname, '..');

function runNode(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

/** A temporary project with `files`, whose node_modules/parapool is `parapool` (a path). */
function project(files: Record<string, string>, parapool: 'link' | 'copy-without-tsx'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parapool-project-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  if (parapool === 'link') {
    fs.symlinkSync(root, path.join(modules, 'parapool'), 'dir');
  } else {
    // What a JavaScript-only install has: parapool's files and its runtime dependencies, no tsx.
    const target = path.join(modules, 'parapool');
    fs.mkdirSync(target);
    fs.cpSync(path.join(root, 'dist'), path.join(target, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(target, 'package.json'));
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies)) {
      fs.symlinkSync(path.join(root, 'node_modules', dependency), path.join(modules, dependency), 'dir');
    }
  }
  return dir;
}

describe('the built package', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'dist/cjs/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('works from ESM: named and namespace imports, a TypeScript task module, the same classes', () => {
    const output = runNode([
      '--input-type=module',
      '-e',
      `
      import * as mp from 'parapool';
      import { Pool, tasks, Value } from 'parapool';
      const primes = tasks('./workers/primes.ts');
      const pool = new Pool({ workers: 2 });
      const flags = await pool.map(primes.isPrime, [2, 3, 4, 5, 6, 7]);
      const count = await pool.apply(primes.countPrimes, [0, 100000]);
      await pool[Symbol.asyncDispose]();
      console.log(JSON.stringify({ flags, count, same: mp.Pool === Pool, hasValue: typeof Value === 'function' }));
      `,
    ]);
    expect(JSON.parse(output)).toEqual({ flags: [true, true, false, true, false, true], count: 9592, same: true, hasValue: true });
  });

  it('works from CommonJS, and ESM and CommonJS share one copy of the code', () => {
    const output = runNode([
      '-e',
      `
      const mp = require('parapool');
      (async () => {
        const esm = await import('parapool');
        const pool = new mp.Pool({ workers: 1 });
        const sum = await pool.apply((a, b) => a + b, [20, 22]);
        pool.close();
        await pool.join();
        console.log(JSON.stringify({ sum, same: esm.Pool === mp.Pool, errors: esm.ParapoolError === mp.ParapoolError }));
      })();
      `,
    ]);
    expect(JSON.parse(output)).toEqual({ sum: 42, same: true, errors: true });
  });

  it('from CommonJS loads only what is used: no piscina, acorn or Manager for a task module, and a shared object still arrives working', () => {
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        // A task module that uses a shared type requires parapool in every worker (piscina's own worker code is there anyway).
        'work.js': `
          const { Value } = require('parapool');
          const loaded = () => Object.keys(require.cache).filter((f) => /node_modules[\\\\/](piscina[\\\\/]dist[\\\\/]index|acorn[\\\\/])|[\\\\/]vendor[\\\\/]acorn|[\\\\/]manager[\\\\/]/.test(f));
          exports.make = () => ({ value: Value('i', 7), loaded: loaded() });
          exports.bump = (value) => { value.add(1); return loaded(); };
        `,
        'main.js': `
          const mp = require('parapool');
          const atStart = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](piscina[\\\\/]dist[\\\\/]index|acorn[\\\\/])|[\\\\/]vendor[\\\\/]acorn|[\\\\/]manager[\\\\/]/.test(f));
          const work = mp.tasks(require.resolve('./work.js'));
          const pool = new mp.Pool({ workers: 1 });
          (async () => {
            try {
              const made = await pool.apply(work.make);
              const inWorker = await pool.apply(work.bump, [made.value]);
              console.log(JSON.stringify({ atStart, value: made.value.value, shared: made.value instanceof mp.SharedValue, inWorker: [...made.loaded, ...inWorker] }));
            } finally {
              await pool.terminate();
            }
          })();
        `,
      },
      'link',
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(output)).toEqual({ atStart: [], value: 8, shared: true, inWorker: [] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a CommonJS TypeScript task module runs from the compile cache, without tsx in the worker, its imports and stack traces intact', () => {
    if ((process.features as { typescript?: unknown }).typescript) return; // this Node strips types itself
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        'helper.ts': 'export const offset: number = 100;\n',
        'work.ts': `import { offset } from './helper.js';
export default function add(n: number): number {
  return n + offset;
}
export function loaders(): string[] {
  return Object.keys(require.cache).filter((f) => /[\\\\/]node_modules[\\\\/](tsx|esbuild)[\\\\/]/.test(f));
}
export function fail(): never {
  throw new RangeError('from line 9');
}
`,
        'main.js': `
          const { Pool, task, tasks } = require('parapool');
          const work = tasks(require.resolve('./work.ts'));
          const pool = new Pool({ workers: 2 });
          (async () => {
            try {
              const added = await pool.map(task(require.resolve('./work.ts')), [1, 2]);
              const loaders = await pool.apply(work.loaders);
              const error = await pool.apply(work.fail).catch((e) => e);
              console.log(JSON.stringify({ added, loaders, name: error.name, stack: error.stack }));
            } finally {
              await pool.terminate();
            }
          })();
        `,
      },
      'link',
    );
    try {
      const run = () =>
        JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })) as {
          added: number[];
          loaders: string[];
          name: string;
          stack: string;
        };
      // The first run compiles helper.ts (which tasks() never saw) in a worker, with esbuild, never tsx.
      const first = run();
      expect(first).toMatchObject({ added: [101, 102], name: 'RangeError' });
      expect(first.loaders.filter((file) => file.includes('tsx'))).toEqual([]);
      expect(first.stack).toContain(`${path.join(fs.realpathSync(dir), 'work.ts')}:9:`);
      // The next program finds both files compiled: its workers load no compiler at all.
      expect(run()).toMatchObject({ added: [101, 102], loaders: [], name: 'RangeError' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an ES module TypeScript task module runs from the compile cache through parapool's module hooks: top-level await, import.meta.url, ./x.js for ./x.ts, stack traces; an extensionless import falls back to tsx", () => {
    if ((process.features as { typescript?: unknown }).typescript) return; // this Node strips types itself
    const dir = project(
      {
        'package.json': '{ "type": "module" }',
        'helper.ts': 'export const offset: number = await Promise.resolve(100);\n',
        'plain.ts': 'export const factor: number = 3;\n',
        'work.ts': `import { createRequire } from 'node:module';
import { offset } from './helper.js';
export function add(n: number): number {
  return n + offset;
}
export function where(): string {
  return import.meta.url;
}
export function fail(): never {
  throw new RangeError('from line 10');
}
export function loaders(): string[] {
  return Object.keys(createRequire(import.meta.url).cache).filter((f) => /[\\\\/]node_modules[\\\\/]tsx[\\\\/]/.test(f));
}
`,
        'extensionless.ts':
          "import { factor } from './plain';\nexport function triple(n: number): number {\n  return n * factor;\n}\nexport function where(): string {\n  return import.meta.url;\n}\n",
        'main.mjs': `
          import { Pool, tasks } from 'parapool';
          const work = tasks(new URL('./work.ts', import.meta.url));
          const extensionless = tasks(new URL('./extensionless.ts', import.meta.url));
          const pool = new Pool({ workers: 1 });
          try {
            const added = await pool.map(work.add, [1, 2]);
            const where = await pool.apply(work.where, []);
            const error = await pool.apply(work.fail, []).catch((e) => e);
            const loaders = await pool.apply(work.loaders, []);
            const tripled = await pool.map(extensionless.triple, [1, 2]);
            const fallback = await pool.apply(extensionless.where, []);
            console.log(JSON.stringify({ added, where, name: error.name, stack: error.stack, loaders, tripled, fallback }));
          } finally {
            await pool.terminate();
          }
        `,
      },
      'link',
    );
    try {
      const run = () =>
        JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })) as Record<
          string,
          unknown
        >;
      // tasks() compiled work.ts ahead of the workers; helper.ts, which it never saw, compiles in a hooks thread.
      const result = run();
      // No tsx in the worker until a module needs it: then it is the fallback (the ?tsx import).
      expect(result).toMatchObject({ added: [101, 102], name: 'RangeError', loaders: [], tripled: [3, 6] });
      expect(result.where).toBe(pathToFileURL(path.join(fs.realpathSync(dir), 'work.ts')).href);
      expect(result.fallback).toBe(`${pathToFileURL(path.join(fs.realpathSync(dir), 'extensionless.ts')).href}?tsx`);
      expect(result.stack).toContain(`${path.join(fs.realpathSync(dir), 'work.ts')}:10:`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker requires a CommonJS task module (not through the ES module loader), and imports an ES module with top-level await', () => {
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        // Loaded through import(), a CommonJS module runs under the ES module loader's translator.
        'plain.js': `const loadedFrom = new Error().stack;\nexports.viaImport = () => /esm[\\\\/]translators/.test(loadedFrom);\n`,
        'tla.mjs': 'const base = await Promise.resolve(1000);\nexport function addBase(n) {\n  return n + base;\n}\n',
        'main.js': `
          const { Pool, tasks } = require('parapool');
          const plain = tasks(require.resolve('./plain.js'));
          const tla = tasks(require.resolve('./tla.mjs'));
          const pool = new Pool({ workers: 1 });
          (async () => {
            try {
              const viaImport = await pool.apply(plain.viaImport);
              const added = await pool.apply(tla.addBase, [1]);
              console.log(JSON.stringify({ viaImport, added }));
            } finally {
              await pool.terminate();
            }
          })();
        `,
      },
      'link',
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(output)).toEqual({ viaImport: false, added: 1001 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker started before the first SharedMemory attaches to a block by name (CommonJS loads SharedMemory only when used)', () => {
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        'attach.js': `const { SharedMemory } = require('parapool');
exports.bump = (name) => {
  const block = new SharedMemory({ name });
  Atomics.add(new Int32Array(block.buf.buffer, block.buf.byteOffset, 1), 0, 1);
  block.close();
  return true;
};
`,
        'main.js': `
          // As compiled TypeScript or ESM interop does: the names are read where they are used.
          const parapool = require('parapool');
          const attach = parapool.tasks(require.resolve('./attach.js'));
          const pool = new parapool.Pool({ workers: 2 });
          (async () => {
            try {
              // Both workers are up, and have run a task, before any SharedMemory exists in this process.
              await Promise.all([pool.apply((n) => n, [1]), pool.apply((n) => n, [2])]);
              const block = new parapool.SharedMemory({ create: true, size: 8 });
              await Promise.all(Array.from({ length: 6 }, () => pool.apply(attach.bump, [block.name])));
              console.log(JSON.stringify({ count: new Int32Array(block.buf.buffer, block.buf.byteOffset, 1)[0] }));
              block.close();
              block.unlink();
            } finally {
              await pool.terminate();
            }
          })();
        `,
      },
      'link',
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(output)).toEqual({ count: 6 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a worker takes over a Lock whose holder died, both started before the first Lock (the dead-thread bitmap is there from the start)', () => {
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        'hold.js': `exports.holdAndDie = (lock) => {
  lock.acquireSync();
  process.exit(3);
};
exports.take = (lock) => lock.acquireSync({ timeout: 10000 }) && lock.ownerDied;
`,
        'main.js': `
          const parapool = require('parapool');
          const hold = parapool.tasks(require.resolve('./hold.js'));
          const pool = new parapool.Pool({ workers: 2 });
          (async () => {
            try {
              await Promise.all([pool.apply((n) => n, [1]), pool.apply((n) => n, [2])]);
              const lock = new parapool.Lock();
              const died = await pool.apply(hold.holdAndDie, [lock]).catch((e) => e.code);
              console.log(JSON.stringify({ died, tookOver: await pool.apply(hold.take, [lock]) }));
            } finally {
              await pool.terminate();
            }
          })();
        `,
      },
      'link',
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(output)).toEqual({ died: 'ERR_WORKER_EXITED', tookOver: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a pool or Process thread loads its entry as one file (scripts/build.mjs) and the codec only when a value needs it, and a task module that imports parapool shares the entry's error classes, transfer marks and shared types", () => {
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        'plain.js': `
          const path = require('node:path');
          exports.files = () => Object.keys(require.cache).filter((f) => f.includes(path.join('dist', 'cjs'))).map((f) => f.split(path.join('dist', 'cjs') + path.sep)[1].replaceAll(path.sep, '/'));
        `,
        'shared.js': `
          const mp = require('parapool');
          let moved;
          exports.move = () => { moved = new ArrayBuffer(8); return mp.transfer(moved); };
          exports.detached = () => moved.byteLength === 0;
          exports.bump = (value) => { value.add(1); return value instanceof mp.SharedValue; };
          exports.fail = () => { throw new mp.TimeoutError('slow'); };
          // Revives a shared type this thread never imported, before any shared argument (importing parapool installs the loader).
          const registry = require(require('node:path').join(require.resolve('parapool'), '..', 'codec', 'registry.js'));
          exports.knows = () => { try { return typeof registry.codecFor('parapool.Array').decode; } catch (error) { return error.code; } };
        `,
        'main.js': `
          const mp = require('parapool');
          const plain = mp.tasks(require.resolve('./plain.js'));
          const shared = mp.tasks(require.resolve('./shared.js'));
          (async () => {
            const out = { pool: [], process: undefined, shared: undefined };
            for (const maxTasksPerChild of [undefined, 1]) {
              const pool = new mp.Pool({ workers: 2, maxTasksPerChild });
              try {
                out.pool.push(await pool.apply(plain.files));
              } finally {
                await pool.terminate();
              }
            }
            const pool = new mp.Pool({ workers: 1 });
            try {
              const knows = await pool.apply(shared.knows);
              const value = mp.Value('i', 1);
              const buffer = await pool.apply(shared.move);
              const bumped = await pool.apply(shared.bump, [value]);
              const error = await pool.apply(shared.fail).catch((e) => e);
              out.shared = [knows, buffer.byteLength, await pool.apply(shared.detached), bumped, value.value, error instanceof mp.TimeoutError, error.code];
            } finally {
              await pool.terminate();
            }
            const files = await new Promise((resolve, reject) => {
              const queue = new mp.Queue();
              const p = new mp.Process({ target: mp.tasks(require.resolve('./send.js')).send, args: [queue] });
              p.start();
              queue.get().then(resolve, reject).finally(() => p.join());
            });
            out.process = files;
            console.log(JSON.stringify(out));
          })();
        `,
      },
      'link',
    );
    fs.writeFileSync(
      path.join(dir, 'send.js'),
      `const path = require('node:path');
       exports.send = (queue) => queue.put(Object.keys(require.cache).some((f) => f.endsWith(path.join('entry', 'process-worker.js'))) && !Object.keys(require.cache).some((f) => f.endsWith(path.join('entry', 'load-task.js'))));`,
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      const out = JSON.parse(output) as { pool: string[][]; process: boolean; shared: unknown[] };
      for (const files of out.pool) {
        expect(files).toContain('entry/pool-worker.js');
        for (const inBundle of [
          'entry/load-task.js',
          'codec/codec.js',
          'codec/decoder.js',
          'codec/error-codec.js',
          'runtime/protocol.js',
        ]) {
          expect(files).not.toContain(inBundle);
        }
      }
      expect(out.pool).toHaveLength(2);
      expect(out.process).toBe(true);
      expect(out.shared).toEqual(['function', 8, true, true, 2, true, 'ERR_TIMEOUT']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('depends on piscina alone at run time: acorn and devalue are bundled into dist/cjs/vendor with their licences', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['piscina']);
    const files = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        return entry.isDirectory() ? files(full) : entry.name.endsWith('.js') ? [full] : [];
      });
    const requires = new Set<string>();
    for (const file of files(path.join(root, 'dist/cjs'))) {
      if (file.includes(`${path.sep}vendor${path.sep}`)) continue;
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/require\((["'])([^."'][^"']*)\1\)/g))
        requires.add(match[2]!.split('/')[0]!);
    }
    const packages = [...requires].filter((name) => !name.startsWith('node:'));
    // piscina, and the optional peers loaded only for what needs them (tsx, esbuild, bullmq, ioredis).
    expect(packages.sort()).toEqual(['bullmq', 'esbuild', 'ioredis', 'piscina', 'tsx'].filter((name) => packages.includes(name)));
    expect(packages).not.toContain('acorn');
    expect(packages).not.toContain('devalue');
    for (const name of ['acorn', 'devalue']) {
      const vendored = fs.readFileSync(path.join(root, 'dist/cjs/vendor', `${name}.js`), 'utf8');
      expect(vendored.slice(0, 1500)).toMatch(
        new RegExp(`^/\\*! ${name} [\\d.]+, bundled by parapool's build\\.\\n[^]*Permission is hereby granted`),
      );
    }
  });

  it('exports the same names from ESM and CommonJS', () => {
    const cjs = JSON.parse(runNode(['-e', `console.log(JSON.stringify(Object.keys(require('parapool')).sort()))`])) as string[];
    const esm = JSON.parse(
      runNode([
        '--input-type=module',
        '-e',
        `import * as mp from 'parapool'; console.log(JSON.stringify(Object.keys(mp).filter((k) => k !== 'default').sort()))`,
      ]),
    ) as string[];
    expect(esm).toEqual(cjs.filter((name) => name !== '__esModule'));
    for (const name of ['Pool', 'tasks', 'task', 'transfer', 'ParapoolError', 'AsyncResult']) expect(cjs).toContain(name);
  });

  it('a TypeScript task with no loader installed fails with a coded error that says what to install', () => {
    if ((process.features as { typescript?: unknown }).typescript) return; // this Node strips types itself
    const dir = project(
      {
        'package.json': '{ "type": "commonjs" }',
        'work.ts': 'export function twice(n: number): number { return n * 2; }\n',
        'main.js': `
          const { Pool, tasks } = require('parapool');
          const work = tasks(require.resolve('./work.ts'));
          const pool = new Pool({ workers: 1 });
          pool.apply((n) => n + 1, [1]).then(async (two) => {
            const error = await pool.apply(work.twice, [2]).catch((e) => e);
            await pool.terminate();
            console.log(JSON.stringify({ two, code: error.code, name: error.name, message: error.message }));
          });
        `,
      },
      'copy-without-tsx',
    );
    try {
      const output = execFileSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      const result = JSON.parse(output) as { two: number; code: string; name: string; message: string };
      expect(result).toMatchObject({ two: 2, code: 'ERR_INVALID_STATE', name: 'InvalidStateError' });
      expect(result.message).toContain('npm install --save-dev tsx');
      expect(result.message).toContain(path.join(fs.realpathSync(dir), 'work.ts'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("under tsx: ESM TypeScript tasks with top-level await found by their .js name, inline functions with inner functions and classes; workers start without tsx's loader", () => {
    const dir = project(
      {
        'package.json': '{ "type": "module" }',
        'work.ts': 'const base = await Promise.resolve(10);\nexport function add(n: number): number {\n  return n + base;\n}\n',
        'plain.mjs': 'export function argv() {\n  return process.execArgv;\n}\n',
        'main.ts': `
          import { Pool, tasks } from 'parapool';
          const work = tasks<typeof import('./work.js')>(new URL('./work.js', import.meta.url));
          const plain = tasks<typeof import('./plain.mjs')>(new URL('./plain.mjs', import.meta.url));
          const pool = new Pool({ workers: 1 });
          try {
            // Before any TypeScript task: the worker runs without tsx's --require/--import.
            const argv = await pool.apply(plain.argv, []);
            const added = await pool.map(work.add, [1, 2]);
            const inline = await pool.map((n: number) => {
              function inner(k: number): number {
                return k * 3;
              }
              class Box {
                value = inner(n);
              }
              return new Box().value;
            }, [1, 2]);
            console.log(JSON.stringify({ argv, parent: process.execArgv.length > 0, added, inline }));
          } finally {
            pool.close();
            await pool.join();
          }
        `,
      },
      'link',
    );
    try {
      const result = spawnSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({ argv: [], parent: true, added: [11, 12], inline: [3, 6] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
