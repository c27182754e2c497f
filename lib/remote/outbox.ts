/**
 * A worker's writes to its clients' keys, gathered per event-loop turn: the
 * start checks of every job fetched in one turn go to Redis in one script call
 * per client, and so do the messages of one turn (started, results, failures),
 * in the order they happened. A worker that holds many short jobs thus makes
 * two calls a turn instead of several per job.
 */
import type { Redis } from 'ioredis';
import { BEGIN_SCRIPT, clientKeys, PUSH_SCRIPT } from './keys';
import { sealResult } from './signing';

/** What the start check says of a job: its client is gone, it was cancelled, or it runs. */
export type BeginState = 'gone' | 'cancelled' | 'run';

interface Pending {
  begins: { id: string; resolve: (state: BeginState) => void; reject: (error: unknown) => void }[];
  ended: string[];
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

  #of(client: string): Pending {
    let pending = this.#pending.get(client);
    if (pending === undefined) {
      pending = { begins: [], ended: [], messages: [], sent: [] };
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
        this.#redis.eval(BEGIN_SCRIPT, 3, keys.alive, keys.cancelled, keys.runners, this.#runner, ...ids).then(
          (states) => {
            begins.forEach((begin, i) => {
              begin.resolve(states === 0 ? 'gone' : (states as number[])[i] === 1 ? 'cancelled' : 'run');
            });
          },
          (error: unknown) => {
            for (const begin of begins) begin.reject(error);
          },
        );
      }
      for (let from = 0; from < pending.messages.length || from < pending.ended.length; from += MAX_BATCH) {
        const ended = pending.ended.slice(from, from + MAX_BATCH);
        const messages = pending.messages.slice(from, from + MAX_BATCH);
        const sent = pending.sent.slice(from, from + MAX_BATCH);
        this.#redis.eval(PUSH_SCRIPT, 3, keys.alive, keys.results, keys.runners, ended.length, ...ended, ...messages).then(
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
