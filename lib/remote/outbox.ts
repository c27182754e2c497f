/**
 * A worker's writes to its clients' keys, gathered per event-loop turn: the
 * start checks of every job fetched in one turn go to Redis in one script call
 * per client, and so do the messages of one turn (started, results, failures),
 * in the order they happened, with the done marks of the parts whose job left
 * BullMQ. A worker that holds many short jobs thus makes two calls a turn
 * instead of several per job.
 */
import type { Redis } from 'ioredis';
import { BEGIN_SCRIPT, clientKeys, PUSH_SCRIPT } from './keys';
import { sealResult } from './signing';

/** What the start check says of a part: its client is gone, it was cancelled, it ended in an earlier run of its job, or it runs. */
export type BeginState = 'gone' | 'cancelled' | 'done' | 'run';

interface Pending {
  begins: { id: string; resolve: (state: BeginState) => void; reject: (error: unknown) => void }[];
  ended: string[];
  forgotten: string[];
  messages: string[];
  sent: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** The most items one script call carries; a longer turn takes several calls. */
const MAX_BATCH = 1000;

export class Outbox {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #queue: string;
  readonly #runner: string;
  readonly #authkey: Buffer;
  readonly #pending = new Map<string, Pending>();
  #scheduled = false;

  constructor(redis: Redis, prefix: string, queue: string, runner: string, authkey: Buffer) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#queue = queue;
    this.#runner = runner;
    this.#authkey = authkey;
  }

  /** Checks that the job's client lives and did not cancel it; records this worker as its runner. */
  begin(client: string, id: string): Promise<BeginState> {
    return new Promise((resolve, reject) => {
      this.#of(client).begins.push({ id, resolve, reject });
    });
  }

  /** Seals `text` and pushes it to the client's result list; `ended` names a job that is over. Resolves once written. */
  send(client: string, text: string, ended?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = this.#of(client);
      pending.messages.push(sealResult(this.#authkey, text));
      if (ended !== undefined) pending.ended.push(ended);
      pending.sent.push({ resolve, reject });
    });
  }

  /** The parts' job left BullMQ (completed or failed): their done marks go (in the next turn's push). */
  forget(client: string, ids: readonly string[]): void {
    this.#of(client).forgotten.push(...ids);
  }

  #of(client: string): Pending {
    let pending = this.#pending.get(client);
    if (pending === undefined) {
      pending = { begins: [], ended: [], forgotten: [], messages: [], sent: [] };
      this.#pending.set(client, pending);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return pending;
  }

  #flush(): void {
    this.#scheduled = false;
    const all = [...this.#pending];
    this.#pending.clear();
    for (const [client, pending] of all) {
      const keys = clientKeys(this.#prefix, this.#queue, client);
      for (let from = 0; from < pending.begins.length; from += MAX_BATCH) {
        const begins = pending.begins.slice(from, from + MAX_BATCH);
        const ids = begins.map((begin) => begin.id);
        this.#redis.eval(BEGIN_SCRIPT, 4, keys.alive, keys.cancelled, keys.runners, keys.done, this.#runner, ...ids).then(
          (states) => {
            begins.forEach((begin, i) => {
              const state = states === 0 ? 0 : (states as number[])[i];
              begin.resolve(state === 0 ? 'gone' : state === 1 ? 'cancelled' : state === 3 ? 'done' : 'run');
            });
          },
          (error: unknown) => {
            for (const begin of begins) begin.reject(error);
          },
        );
      }
      const longest = Math.max(pending.messages.length, pending.ended.length, pending.forgotten.length);
      for (let from = 0; from < longest; from += MAX_BATCH) {
        const ended = pending.ended.slice(from, from + MAX_BATCH);
        const forgotten = pending.forgotten.slice(from, from + MAX_BATCH);
        const messages = pending.messages.slice(from, from + MAX_BATCH);
        const sent = pending.sent.slice(from, from + MAX_BATCH);
        const args = [ended.length, ...ended, forgotten.length, ...forgotten, ...messages];
        this.#redis.eval(PUSH_SCRIPT, 4, keys.alive, keys.results, keys.runners, keys.done, ...args).then(
          () => {
            for (const each of sent) each.resolve();
          },
          (error: unknown) => {
            for (const each of sent) each.reject(error);
          },
        );
      }
    }
  }
}
