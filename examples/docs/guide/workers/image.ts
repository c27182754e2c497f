// workers/image.ts: the result's buffer moves back instead of being copied
import { transfer } from 'parapool';

export function invert(pixels: Uint8Array): Uint8Array {
  const result = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) result[i] = 255 - (pixels[i] ?? 0);
  return transfer(result);
}
