import { native } from './native.js';

/**
 * CRC32C (Castagnoli) of `data`, continuing from `seed` (the result of a previous call,
 * so that crc32c(b, crc32c(a)) === crc32c(concat(a, b))). Hardware accelerated where the
 * CPU allows (SSE4.2 / ARMv8 CRC), portable otherwise. Returns an unsigned 32-bit integer.
 */
export function crc32c(data: Uint8Array, seed = 0): number {
  return native.crc32c(data, seed);
}

/** Which implementation crc32c() uses on this CPU: 'sse4.2', 'armv8' or 'portable'. */
export function crc32cImplementation(): string {
  return native.crc32cImplementation();
}
