// workers/fill.ts: each task writes its own slice of a shared array
import type { SharedArray } from 'parapool';

export function slice(arr: SharedArray<'d'>, from: number, to: number): void {
  const view = arr.view;
  for (let i = from; i < to; i++) view[i] = Math.sqrt(i);
}
