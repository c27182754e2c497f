/**
 * A worker's writes to its clients' keys, gathered per event-loop turn: the
 * start checks of every job fetched in one turn go to Redis in one script call
 * per client, and so do the messages of one turn (started, results, failures),
 * in the order they happened, with the done marks of the parts whose job left
 * BullMQ. The messages of one turn for one client travel as one entry of its
 * result list under one seal (one line each). A `started` waits one turn more:
 * a part that ends by then sends none (its response says it ran), which short
 * parts mostly do. The scripts
 * are loaded once (EVALSHA), not sent with every call. A worker that holds many
 * short jobs thus makes two calls a turn instead of several per job.
 */
import type { Redis } from 'ioredis';
import { BEGIN_SCRIPT, clientKeys, PUSH_SCRIPT } from './keys';
import { sealResult } from './signing';
import { type ResultMessage, toWire } from './wire';

/** What the start check says of a part: its client is gone, it was cancelled, it ended in an earlier run of its job, or it runs. */
export type BeginState = 'gone' | 'cancelled' | 'done' | 'run';

/** A message to push, or the news that a part started (written only if it goes: most never do). */
type Message = { readonly text: string } | { readonly started: string; held: boolean };

interface Pending {
  begins: { id: string; resolve: (state: BeginState) => void; reject: (error: unknown) => void }[];
  ended: string[];
  forgotten: string[];
  /** The messages in order; a `started` one carries the id of its part (dropped when that part ends before it goes). */
  messages: Message[];
  sent: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** The most items one script call carries; a longer turn takes several calls. */
const MAX_BATCH = 1000;

/** The scripts as commands of the connection (ioredis sends EVALSHA, and the script itself only when Redis lacks it). */
interface ScriptedRedis {
  parapoolBegin(...args: (string | number)[]): Promise<unknown>;
  parapoolPush(...args: (string | number)[]): Promise<unknown>;
}

export class Outbox {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #queue: string;
  readonly #runner: string;
  readonly #authkey: Buffer;
  readonly #pending = new Map<string, Pending>();
  #scheduled = false;

  constructor(redis: Redis, prefix: string, queue: string, runner: string, authkey: Buffer) {
    redis.defineCommand('parapoolBegin', { numberOfKeys: 4, lua: BEGIN_SCRIPT });
    redis.defineCommand('parapoolPush', { numberOfKeys: 4, lua: PUSH_SCRIPT });
    this.#redis = redis as unknown as ScriptedRedis;
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

  /** Pushes `text` (a message about a part) to the client's result list; `ended` names a part that is over. Resolves once written. */
  send(client: string, text: string, ended?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = this.#of(client);
      pending.messages.push({ text });
      if (ended !== undefined) pending.ended.push(ended);
      pending.sent.push({ resolve, reject });
    });
  }

  /** Pushes the message that part `id` started, one turn later, unless the part has ended by then. */
  started(client: string, id: string): void {
    this.#of(client).messages.push({ started: id, held: false });
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
        this.#redis.parapoolBegin(keys.alive, keys.cancelled, keys.runners, keys.done, this.#runner, ...ids).then(
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
      const endedNow = new Set(pending.ended);
      const texts: string[] = [];
      for (const message of pending.messages) {
        if ('text' in message) texts.push(message.text);
        else if (endedNow.has(message.started)) continue;
        else if (message.held) texts.push(toWire({ id: message.started, type: 'started' } satisfies ResultMessage, 'result'));
        else {
          message.held = true;
          this.#of(client).messages.push(message);
        }
      }
      const longest = Math.max(texts.length, pending.ended.length, pending.forgotten.length);
      const pushes: Promise<unknown>[] = [];
      for (let from = 0; from < longest; from += MAX_BATCH) {
        const ended = pending.ended.slice(from, from + MAX_BATCH);
        const forgotten = pending.forgotten.slice(from, from + MAX_BATCH);
        const slice = texts.slice(from, from + MAX_BATCH);
        const sealed = slice.length > 0 ? [sealResult(this.#authkey, slice.join('\n'))] : [];
        pushes.push(
          this.#redis.parapoolPush(
            keys.alive,
            keys.results,
            keys.runners,
            keys.done,
            ended.length,
            ...ended,
            forgotten.length,
            ...forgotten,
            ...sealed,
          ),
        );
      }
      const sent = pending.sent;
      if (sent.length === 0) {
        void Promise.all(pushes).catch(() => undefined);
        continue;
      }
      Promise.all(pushes).then(
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
