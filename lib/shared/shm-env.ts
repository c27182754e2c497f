/**
 * The identity of the process's SharedMemory directory (./shm-directory), as
 * each thread publishes it in its environment data: a Worker begins with its
 * parent's copy. A thread that starts before the main thread's directory
 * exists would begin with none and make a directory of its own, which never
 * hears of the main thread's blocks (attaching by name then fails). So
 * whatever starts parapool threads calls `reserveDirectory()` first: it
 * publishes an identity (the id and the directory memory) without loading the
 * directory, which adopts it once it loads.
 */
import { getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';

/** The environment-data key under which each thread publishes its directory snapshot. */
export const ENV_KEY = 'parapool:shm';
/** Int32 slots of the directory memory: 4 words, then the counting filter's buckets. */
export const FILTER = 4;
export const FILTER_BUCKETS = 4096;
export const DIRECTORY_BYTES = (FILTER + FILTER_BUCKETS) * 4;

/** One named block: its data and its header (state word, sequence number). */
export interface BlockRecord {
  readonly data: SharedArrayBuffer;
  readonly header: SharedArrayBuffer;
}

export interface EnvSnapshot {
  id: string;
  directory: SharedArrayBuffer;
  blocks: Map<string, BlockRecord>;
  knownThrough: number;
  /** Published by reserveDirectory(), not yet taken by this thread's directory. */
  reserved?: true;
}

export function isEnvSnapshot(value: unknown): value is EnvSnapshot {
  const v = value as EnvSnapshot | undefined;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    v.directory instanceof SharedArrayBuffer &&
    v.blocks instanceof Map &&
    typeof v.knownThrough === 'number'
  );
}

/** A directory id: unique among the directories of one process, which is all a BroadcastChannel name spans. */
export function newDirectoryId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * In the main thread, publishes a directory identity when none is published yet
 * (the directory is not loaded): threads started from now on share it.
 */
export function reserveDirectory(): void {
  if (!isMainThread || isEnvSnapshot(getEnvironmentData(ENV_KEY))) return;
  const reserved: EnvSnapshot = {
    id: newDirectoryId(),
    directory: new SharedArrayBuffer(DIRECTORY_BYTES),
    blocks: new Map(),
    knownThrough: 0,
    reserved: true,
  };
  setEnvironmentData(ENV_KEY, reserved as never);
}
