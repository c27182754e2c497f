// Docs are part of the product: every export has JSDoc, docs/api.md is the
// reference generated from it (regenerate with `npm run docs`), and every code
// block of README.md and docs/*.md runs as written. A block names its file in
// its info string (```ts examples/docs/readme/main.ts) and must equal that
// file; the test runs each file in a fresh project whose node_modules/parapool
// is this package (built: `npm test` builds first). `npm run typecheck`
// type-checks the TypeScript ones (examples/docs/tsconfig.json, module: nodenext). ```text blocks are output, not code;
// ```sh blocks may only run this package's own npm scripts.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.join(__dirname, '..');
const RUN_TIMEOUT_MS = 19_000;
// tsx's loader, imported into the example's node process (one process; the tsx CLI would start two).
const TSX_LOADER = pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href;

interface Block {
  readonly page: string;
  readonly line: number;
  readonly lang: string;
  readonly file: string | undefined;
  readonly body: string;
}

/** The fenced code blocks of a markdown page (api.md is generated and not included). */
function blocksOf(page: string): Block[] {
  const lines = fs.readFileSync(path.join(root, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S+)(?:\s+(\S+))?\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] ?? '');
    blocks.push({ page, line: start + 1, lang: open[1] ?? '', file: open[2], body: `${body.join('\n')}\n` });
  }
  return blocks;
}

const pages = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).map((name) => `docs/${name}`)].filter(
  (page) => page.endsWith('.md') && page !== 'docs/api.md',
);
const blocks = pages.flatMap(blocksOf);
const codeBlocks = blocks.filter((block) => block.lang !== 'text' && block.lang !== 'sh');
const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts);

/** The example's project directory: examples/docs/<name>. */
const projectOf = (file: string): string => file.split('/').slice(0, 3).join('/');
/** Examples that cannot run on their own here (they are type-checked by `npm run typecheck` like every example), and why. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'examples/docs/remote/pool.ts':
    'needs a Redis server and `parapool worker` processes; `npm run demo:remote` runs the same calls end to end',
};
const entries = [...new Set(codeBlocks.map((block) => block.file ?? ''))].filter(
  (file) => file !== '' && !file.split('/').includes('workers') && NOT_RUN[file] === undefined,
);

/** Runs `node ...args` in `cwd`, killed past RUN_TIMEOUT_MS; resolves with its exit status, signal and stderr. */
function runNode(args: string[], cwd: string): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: RUN_TIMEOUT_MS });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

/** A fresh copy of an example project, with this package installed as `parapool`. */
function freshProject(project: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parapool-doc-'));
  fs.cpSync(path.join(root, project), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'parapool'), 'dir');
  return dir;
}

describe('documentation', () => {
  it('documents every export, and docs/api.md is up to date', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts/api-docs.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('has the guide, the Python table, the error codes and the benchmarks', () => {
    for (const page of ['guide.md', 'api.md', 'python.md', 'errors.md', 'benchmarks.md']) {
      expect(fs.existsSync(path.join(root, 'docs', page))).toBe(true);
    }
  });

  it('every code block names its file under examples/ and equals it', () => {
    const problems: string[] = [];
    for (const block of codeBlocks) {
      const where = `${block.page}:${block.line}`;
      if (block.file === undefined || !block.file.startsWith('examples/docs/')) {
        problems.push(`${where}: a \`\`\`${block.lang} block must name its file (\`\`\`${block.lang} examples/docs/<page>/<file>)`);
      } else if (!fs.existsSync(path.join(root, block.file))) {
        problems.push(`${where}: ${block.file} does not exist`);
      } else if (fs.readFileSync(path.join(root, block.file), 'utf8') !== block.body) {
        problems.push(`${where}: the block differs from ${block.file}`);
      }
    }
    expect(problems).toEqual([]);
    expect(entries.length).toBeGreaterThan(0);
  });

  it('README.md starts with the two commands that work on a fresh clone', () => {
    const first = blocks.find((block) => block.page === 'README.md');
    expect(first?.lang).toBe('sh');
    const commands = first?.body
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
    expect(commands).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
  });

  it('shell blocks run only npm commands this package has', () => {
    for (const block of blocks.filter((b) => b.lang === 'sh')) {
      for (const line of block.body.replace(/\\\n\s*/g, ' ').split('\n')) {
        const command = line.replace(/#.*$/, '').trim();
        if (command === '') continue;
        for (const part of command.split('&&').map((p) => p.trim())) {
          const run = /^npm run ([\w:-]+)/.exec(part);
          const bin = /^npx parapool (\w+)/.exec(part);
          if (run) expect(scripts).toContain(run[1]);
          else if (bin) expect(['manager', 'worker']).toContain(bin[1]);
          else expect(['npm ci', 'npm test', 'npm install parapool', 'npm install --save-dev tsx']).toContain(part);
        }
      }
    }
  });

  // Two examples at a time (jest.config.js: maxConcurrency): each waits on its threads and timers part of the time.
  it.concurrent.each(entries)('%s runs as written', async (file) => {
    const dir = freshProject(projectOf(file));
    try {
      const relative = path.relative(projectOf(file), file);
      const typescript = /\.[mc]?ts$/.test(file);
      const args = typescript ? ['--import', TSX_LOADER, relative] : [relative];
      const result = await runNode(args, dir);
      expect(result.stderr).toBe('');
      expect(result.signal).toBeNull();
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
