import * as fs from 'node:fs';
import * as path from 'node:path';

const lib = path.join(__dirname, '../../lib');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('lib/entry/shared-types.ts', () => {
  it('imports every module that registers a shared type, and nothing else', () => {
    const registering = sourceFiles(lib)
      .filter((file) => !path.relative(lib, file).startsWith(`codec${path.sep}`))
      .filter((file) => /\bregisterSharedType[<(]/.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(path.join(lib, 'entry'), file).replace(/\.ts$/, ''))
      .sort();
    const manifest = fs.readFileSync(path.join(lib, 'entry/shared-types.ts'), 'utf8');
    const imported = [...manifest.matchAll(/^import '([^']+)';$/gm)].map((match) => match[1]!).sort();
    expect(registering.length).toBeGreaterThan(10);
    expect(imported).toEqual(registering);
  });
});
