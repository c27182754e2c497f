import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskNotFoundError, classRef, isTaskRef, task, tasks } from '../../lib';
import { taskSpecOf } from '../../lib/tasks/task-ref';

const fixture = path.join(__dirname, '../fixtures', 'pool-tasks.ts');

describe('task references', () => {
  it('tasks() gives one frozen, cached TaskRef per export name, and loads nothing', () => {
    const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
    expect(isTaskRef(t.square)).toBe(true);
    expect(t.square).toBe(t.square);
    expect(t.square.name).toBe('square');
    expect(t.square.file).toBe(pathToFileURL(fixture).href);
    expect(Object.isFrozen(t.square)).toBe(true);
    expect(String(t.square)).toContain('pool-tasks.ts#square');
  });

  it('is not a thenable, so it can be returned from async code', async () => {
    const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
    const same = await Promise.resolve(t);
    expect(same).toBe(t);
    expect((t as unknown as { then?: unknown }).then).toBeUndefined();
  });

  it('resolves paths like require: extensionless, relative to the calling file, file: URLs', () => {
    const withoutExtension = tasks<typeof import('../fixtures/pool-tasks')>(fixture.replace(/\.ts$/, ''));
    expect(withoutExtension.square.file).toBe(pathToFileURL(fixture).href);
    // Relative to this spec file's directory, not to process.cwd().
    expect(tasks<typeof import('../fixtures/pool-tasks')>('../fixtures/pool-tasks').square.file).toBe(pathToFileURL(fixture).href);
    expect(task('../fixtures/pool-tasks.ts', 'add').file).toBe(pathToFileURL(fixture).href);
    expect(() => tasks(path.relative(process.cwd(), fixture))).toThrow(TaskNotFoundError);
    // Through another parapool call (classRef calls task()): still relative to this file, not to lib/.
    expect(classRef('../fixtures/pool-tasks.ts', 'add').file).toBe(pathToFileURL(fixture).href);
    expect(task(pathToFileURL(fixture), 'add').file).toBe(pathToFileURL(fixture).href);
    expect(task(pathToFileURL(fixture).href, 'add').name).toBe('add');
    expect(task(fixture).name).toBe('default');
  });

  it('finds the .ts source of a .js path (TypeScript nodenext convention), and the .js itself first', () => {
    expect(tasks<typeof import('../fixtures/pool-tasks')>(fixture.replace(/\.ts$/, '.js')).square.file).toBe(pathToFileURL(fixture).href);
    expect(task(new URL('../fixtures/pool-tasks.js', pathToFileURL(__filename)), 'add').file).toBe(pathToFileURL(fixture).href);
    const js = path.join(__dirname, '../../scripts/build.mjs');
    expect(task(js, 'x').file).toBe(pathToFileURL(js).href);
  });

  it('ERR_TASK_NOT_FOUND names every path it tried', () => {
    const missing = path.join(__dirname, 'nope');
    let error: unknown;
    try {
      tasks(missing);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TaskNotFoundError);
    const message = (error as Error).message;
    for (const ext of ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']) {
      expect(message).toContain(`${missing}${ext}`);
      expect(message).toContain(path.join(missing, `index${ext}`));
    }
    expect(() => tasks(`${missing}.js`)).toThrow(`Tried: ${missing}.js, ${missing}.ts`);
  });

  it('fails ERR_TASK_NOT_FOUND for a missing file and ERR_INVALID_ARG for a bad one', () => {
    expect(() => tasks(path.join(__dirname, 'nope.ts'))).toThrow(TaskNotFoundError);
    expect(() => tasks(path.join(__dirname, 'nope.ts'))).toThrow(/nope\.ts/);
    expect(() => tasks('' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => tasks(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => tasks(new URL('https://example.com/x.js'))).toThrow(/file: URL/);
    expect(() => task(fixture, '' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });

  it('turns a task into what the worker needs, or says what was expected', () => {
    const t = tasks<typeof import('../fixtures/pool-tasks')>(fixture);
    expect(taskSpecOf(t.add)).toMatchObject({ file: pathToFileURL(fixture).href, name: 'add' });
    expect(taskSpecOf((x: number) => x)).toEqual({ file: '', name: '((x) => x)' });
    expect(() => taskSpecOf('add')).toThrow(/TaskRef/);
  });

  it('refuses an object forged to look like a TaskRef: a task name is never code', () => {
    const brand = Symbol.for('parapool.taskRef');
    const forged = { [brand]: true, file: '', name: '(() => process.exit(3))' };
    expect(() => taskSpecOf(forged)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() => taskSpecOf({ [brand]: true, file: 'data:text/javascript,1', name: 'x' })).toThrow(/file: URL/);
    expect(() => taskSpecOf({ [brand]: true, file: pathToFileURL(fixture).href, name: 42 })).toThrow(/export name/);
    const forgedInstance = Object.create(Object.getPrototypeOf(task(fixture, 'add')), {
      file: { value: '' },
      name: { value: '(() => 1)' },
    });
    expect(() => taskSpecOf(forgedInstance)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    // Read once: a getter cannot show one value to the check and another to the worker.
    let reads = 0;
    const flipping = {
      [brand]: true,
      get file() {
        reads++;
        return reads === 1 ? pathToFileURL(fixture).href : '';
      },
      name: 'add',
    };
    expect(taskSpecOf(flipping)).toEqual({ file: pathToFileURL(fixture).href, name: 'add' });
  });
});
