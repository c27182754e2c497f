// The layers of docs/architecture.md, checked against the code: every import in
// lib/ (static, `require()` and dynamic `import()`; `import type` does not count,
// it leaves no trace at run time) points to its own folder or to a lower layer,
// and the import graph has no cycle.
import * as fs from 'node:fs';
import * as path from 'node:path';

const lib = path.join(__dirname, '../lib');

/** Each layer's rank: a file may import only from its own folder or from a lower rank. */
const RANK: Record<string, number> = {
  ground: 0,
  codec: 1,
  atomics: 2,
  tasks: 2,
  sync: 3,
  shared: 4,
  ipc: 5,
  runtime: 6,
  pool: 7,
  futures: 7,
  process: 7,
  manager: 7,
  remote: 8,
  entry: 9,
  cli: 10,
  index: 10,
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The folder under lib/; the ground-floor files at its top (errors, validate, timers) are one layer. */
function layerOf(file: string): string {
  const [first] = path.relative(lib, file).split(path.sep);
  const layer = first!.replace(/\.(ts|cjs)$/, '');
  return ['errors', 'validate', 'timers'].includes(layer) ? 'ground' : layer;
}

/** Run-time imports of a file: `import … from`, `export … from`, `import '…'`, `require('…')`, `import('…')`. */
function runtimeImports(file: string): string[] {
  const source = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const patterns = [
    /^\s*import\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?!type\s)[^'";]*?\sfrom\s+['"]([^'"]+)['"]/gm,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specs.push(match[1]!);
  return specs
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(path.dirname(file), spec))
    .filter((target): target is string => target !== undefined);
}

function resolve(dir: string, spec: string): string | undefined {
  const base = path.resolve(dir, spec);
  for (const candidate of [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const files = sourceFiles(lib);
const graph = new Map(files.map((file) => [file, runtimeImports(file).filter((target) => target.startsWith(lib))]));
const name = (file: string): string => path.relative(lib, file);

describe('architecture (docs/architecture.md)', () => {
  it('every file of lib/ belongs to a known layer', () => {
    expect(files.map(layerOf).filter((layer) => RANK[layer] === undefined)).toEqual([]);
  });

  it('imports point to the same folder or down the layers', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      for (const target of targets) {
        const to = layerOf(target);
        if (from !== to && RANK[to]! >= RANK[from]!) upward.push(`${name(file)} -> ${name(target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  // Worker threads pay for every module they load. A thread entry may take the message
  // shapes a face shares with it (its protocol.ts), never the face itself; the manager's
  // thread runs the manager's server side, and the shared-type manifest loads every class
  // that can cross threads (a Manager proxy among them) wherever it lives.
  it('the code that runs in worker threads never imports a face', () => {
    const faces = ['pool', 'futures', 'process', 'manager', 'cli'];
    const allowed = (file: string, target: string): boolean =>
      path.basename(target) === 'protocol.ts' ||
      (name(file) === path.join('entry', 'manager-worker.ts') && layerOf(target) === 'manager') ||
      name(file) === path.join('entry', 'shared-types.ts');
    const bad = [...graph]
      .filter(([file]) => layerOf(file) === 'entry')
      .flatMap(([file, targets]) =>
        targets
          .filter((target) => faces.includes(layerOf(target)) && !allowed(file, target))
          .map((target) => `${name(file)} -> ${name(target)}`),
      );
    expect(bad).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'open') cycles.push([...stack.slice(stack.indexOf(target)), target].map(name).join(' -> '));
        else if (!state.has(target)) visit(target);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
