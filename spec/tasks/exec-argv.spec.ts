import { threadExecArgv } from '../../lib/tasks/exec-argv';

const PREFLIGHT = '/home/u/app/node_modules/tsx/dist/preflight.cjs';
const LOADER = 'file:///home/u/app/node_modules/tsx/dist/loader.mjs';

describe('threadExecArgv', () => {
  it("drops tsx's loader flags (the tsx CLI's, and --import tsx written by hand) and keeps the rest", () => {
    expect(threadExecArgv(['--require', PREFLIGHT, '--import', LOADER])).toEqual([]);
    expect(threadExecArgv(['--import', 'tsx'])).toEqual([]);
    expect(threadExecArgv(['--import=tsx/esm', '--enable-source-maps'])).toEqual(['--enable-source-maps']);
    expect(threadExecArgv(['-r', 'tsx/cjs', '--loader', 'C:\\app\\node_modules\\tsx\\dist\\loader.mjs'])).toEqual([]);
    expect(threadExecArgv(['--import', LOADER, '--require', './otel.cjs', '--conditions=dev', '-C', 'test', '--no-warnings'])).toEqual([
      '--require',
      './otel.cjs',
      '--conditions=dev',
      '-C',
      'test',
      '--no-warnings',
    ]);
    expect(threadExecArgv(['--import', LOADER, '--unhandled-rejections=strict'])).toEqual(['--unhandled-rejections=strict']);
  });

  it('inherits (undefined) without tsx, or beside an option a worker might refuse', () => {
    expect(threadExecArgv([])).toBeUndefined();
    expect(threadExecArgv(['--enable-source-maps', '--import', './setup.mjs'])).toBeUndefined();
    // V8 and per-process options make an explicit execArgv throw in new Worker(); inherited, they are accepted.
    expect(threadExecArgv(['--max-old-space-size=4096', '--import', LOADER])).toBeUndefined();
    expect(threadExecArgv(['--inspect', '--import', LOADER])).toBeUndefined();
    expect(threadExecArgv(['--stack-size=2000', '--import', LOADER])).toBeUndefined();
    // A package merely named like tsx is not tsx.
    expect(threadExecArgv(['--import', 'tsx-extra', '--import', './node_modules/not-tsx/x.mjs'])).toBeUndefined();
    // A value missing at the end: leave it to Node.
    expect(threadExecArgv(['--import'])).toBeUndefined();
  });
});
