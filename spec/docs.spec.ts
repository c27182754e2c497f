// Docs are part of the product: every export has JSDoc, and docs/api.md is
// the reference generated from it (regenerate with `npm run docs`).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');

describe('documentation', () => {
  it('documents every export, and docs/api.md is up to date', () => {
    expect(() =>
      execFileSync(process.execPath, [path.join(root, 'scripts/api-docs.mjs'), '--check'], { cwd: root, encoding: 'utf8', stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('has the guide, the Python table, the error codes and the benchmarks', () => {
    for (const page of ['guide.md', 'api.md', 'python.md', 'errors.md', 'benchmarks.md']) {
      expect(fs.existsSync(path.join(root, 'docs', page))).toBe(true);
    }
  });
});
