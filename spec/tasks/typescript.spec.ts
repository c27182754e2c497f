// The compile cache of CommonJS TypeScript task modules (lib/tasks/typescript.ts):
// which files it is for, and that it compiles a file once and serves the same output
// until the source or its tsconfig changes. The worker side (loading from the cache
// with `require`, without tsx) runs on the built package: spec/package.spec.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isCommonJsFile } from '../../lib/tasks/module-format';
import { compiledTypeScript } from '../../lib/tasks/typescript';

describe('TypeScript task modules for the compile cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parapool-ts-spec-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('are CommonJS by Node’s rules: .cts/.cjs always, .ts/.js outside a "type": "module" package, never .mts/.mjs', () => {
    fs.mkdirSync(path.join(dir, 'esm', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "outer" }');
    fs.writeFileSync(path.join(dir, 'esm', 'package.json'), '{ "type": "module" }');
    expect(isCommonJsFile(path.join(dir, 'a.ts'))).toBe(true);
    expect(isCommonJsFile(path.join(dir, 'a.cts'))).toBe(true);
    expect(isCommonJsFile(path.join(dir, 'a.mts'))).toBe(false);
    expect(isCommonJsFile(path.join(dir, 'esm', 'deep', 'a.ts'))).toBe(false);
    expect(isCommonJsFile(path.join(dir, 'esm', 'deep', 'a.cts'))).toBe(true);
    expect(isCommonJsFile(path.join(dir, 'a.js'))).toBe(true);
    expect(isCommonJsFile(path.join(dir, 'esm', 'deep', 'a.cjs'))).toBe(true);
    expect(isCommonJsFile(path.join(dir, 'esm', 'a.js'))).toBe(false);
    expect(isCommonJsFile(path.join(dir, 'a.mjs'))).toBe(false);
  });

  it('compiles a file once and serves the cached output until its source or tsconfig.json changes', () => {
    const file = path.join(dir, 'work.ts');
    fs.writeFileSync(file, 'export function twice(n: number): number { return n * 2; }\n');
    const first = compiledTypeScript(file)!;
    expect(first).toContain('twice');
    expect(first).not.toContain(': number');
    const module = { exports: {} as Record<string, (n: number) => number> };
    new Function('module', 'exports', 'require', first)(module, module.exports, require);
    expect(module.exports.twice!(21)).toBe(42);

    const cacheFiles = () => fs.readdirSync(path.join(os.tmpdir(), `parapool-ts-${process.getuid?.() ?? 'user'}`));
    const before = cacheFiles().length;
    expect(compiledTypeScript(file)).toBe(first);
    expect(cacheFiles().length).toBe(before);

    fs.writeFileSync(file, 'export function twice(n: number): number { return n + n; }\n');
    expect(compiledTypeScript(file)).toContain('n + n');
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "useDefineForClassFields": false } }');
    const withConfig = compiledTypeScript(file);
    expect(withConfig).toContain('n + n');
    expect(cacheFiles().length).toBe(before + 2);
  });

  it('reports what the compiler refuses', () => {
    const file = path.join(dir, 'broken.ts');
    fs.writeFileSync(file, 'export const x: number = ;\n');
    expect(() => compiledTypeScript(file)).toThrow(/Unexpected/);
  });
});
