import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskNotFoundError, isTaskRef, task, tasks } from '../../lib';
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

  it('resolves paths like require: extensionless, relative to the cwd, file: URLs', () => {
    const withoutExtension = tasks<typeof import('../fixtures/pool-tasks')>(fixture.replace(/\.ts$/, ''));
    expect(withoutExtension.square.file).toBe(pathToFileURL(fixture).href);
    const relative = tasks<typeof import('../fixtures/pool-tasks')>(path.relative(process.cwd(), fixture));
    expect(relative.square.file).toBe(pathToFileURL(fixture).href);
    expect(task(pathToFileURL(fixture), 'add').file).toBe(pathToFileURL(fixture).href);
    expect(task(pathToFileURL(fixture).href, 'add').name).toBe('add');
    expect(task(fixture).name).toBe('default');
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
});
