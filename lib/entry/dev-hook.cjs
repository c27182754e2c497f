// The threads of parapool running from its TypeScript sources (under jest, or
// a script run with tsx) load lib/ and the spec fixtures through this
// CommonJS hook: esbuild's output for each .ts file, kept in a cache named by
// the SHA-1 of the file's path, its source and the compile options, so that a
// thread only reads files. Registering tsx's hook instead costs every thread
// tsx's own start-up (the suite starts hundreds of threads). Not part of the
// package: dist/ holds the compiled entries. Without esbuild, tsx's hook.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { threadId } = require('node:worker_threads');

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  esbuild = undefined;
}

if (esbuild === undefined) {
  require('tsx/cjs/api').register();
} else if (require.extensions['.ts'] === undefined) {
  const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'tsconfig.json'), 'utf8'));
  const options = {
    loader: 'ts',
    format: 'cjs',
    // platform 'node' annotates the export names, which import() of the compiled module reads.
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    tsconfigRaw: { compilerOptions },
  };
  const version = `${esbuild.version}\0${JSON.stringify(options)}`;
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  const cache = path.join(os.tmpdir(), `parapool-dev-ts-${user}`);

  const compile = (filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    const key = crypto.createHash('sha1').update(version).update('\0').update(filename).update('\0').update(source).digest('hex');
    const file = path.join(cache, `${key}.js`);
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      const { code } = esbuild.transformSync(source, { ...options, sourcefile: filename });
      fs.mkdirSync(cache, { recursive: true });
      // Written whole under a name of its own, then renamed: a reader never sees half a file.
      const partial = `${file}.${process.pid}.${threadId}`;
      fs.writeFileSync(partial, code);
      fs.renameSync(partial, file);
      return code;
    }
  };
  for (const extension of ['.ts', '.cts']) {
    require.extensions[extension] = (module, filename) => module._compile(compile(filename), filename);
  }
  process.setSourceMapsEnabled(true);
}
