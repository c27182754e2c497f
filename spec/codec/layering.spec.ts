import * as fs from 'node:fs';
import * as path from 'node:path';

const codecDir = path.join(__dirname, '../../lib/codec');

describe('lib/codec is a leaf', () => {
  it('imports only ../errors, ../validate, its own files and node builtins (import type included)', () => {
    const files = fs.readdirSync(codecDir).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) {
      const source = fs.readFileSync(path.join(codecDir, file), 'utf8');
      const specifiers = [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)'([^']+)'/gm)].map(
        (match) => match[1]!,
      );
      for (const specifier of specifiers) {
        expect({ file, specifier, allowed: /^(node:.+|\.\.\/errors|\.\.\/validate|\.\/[\w-]+)$/.test(specifier) }).toEqual({
          file,
          specifier,
          allowed: true,
        });
      }
    }
  });
});
