/**
 * The main thread's first look at a worker's answer: revives the shared
 * objects it holds and rebuilds its error. Never throws: a response that
 * cannot be decoded is a failure like a task's error.
 */
import { decode } from '../codec/codec';
import { decodeError } from '../codec/error-codec';
import type { TaskResponse } from './protocol';

export type OpenedResponse = { readonly failed: false } | { readonly failed: true; readonly error: unknown };

const OPENED: OpenedResponse = Object.freeze({ failed: false });

export function openResponse(response: TaskResponse): OpenedResponse {
  try {
    if (response.shared) decode(response);
    if (response.error !== undefined) return { failed: true, error: decodeError(response.error, false) };
    return OPENED;
  } catch (decodeFailure) {
    return { failed: true, error: decodeFailure };
  }
}
