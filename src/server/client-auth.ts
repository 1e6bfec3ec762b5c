/**
 * Bearer-token authentication on the client port (`--client-auth token`).
 *
 * Wire: the client's first frame is a ClientAuth frame (frame kind 18) whose body is the
 * token, 1..MAX_TOKEN_BYTES bytes; requests may follow it at once (no answer is awaited).
 * The server compares it with the token file's (tokensEqual: SHA-256 digests of both,
 * crypto.timingSafeEqual); a match hands the socket to the request handler with whatever
 * followed, anything else (another frame kind first, a wrong token, no frame within the
 * timeout) gets a connection notice ERR_AUTH and is closed. No request is read before.
 */
import type { Socket } from 'node:net';
import { FRAME_HEADER_BYTES, FRAME_LENGTH_OVERHEAD, FrameKind, PROTOCOL_VERSION } from '../transport/frame.js';
import { MAX_TOKEN_BYTES, tokensEqual } from '../transport/tls.js';

export { encodeAuthFrame, MAX_TOKEN_BYTES } from '../transport/tls.js';

export interface AuthGateOptions {
  /** The token in force now (read at every connection: a reload swaps it). */
  expected(): Buffer;
  timeoutMs: number;
  /** Authenticated: serve the socket (paused, with the bytes after the auth frame unshifted). */
  onAccepted(socket: Socket): void;
  /** Refused: `reason` for the log line; the caller sends the notice and closes. */
  onRefused(socket: Socket, reason: string): void;
}

/** Wait for the socket's auth frame and judge it (see the file comment). */
export function awaitAuthFrame(socket: Socket, options: AuthGateOptions): void {
  let buffered: Buffer = Buffer.alloc(0);
  let done = false;
  const finish = (): void => {
    done = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
  };
  const refuse = (reason: string): void => {
    finish();
    options.onRefused(socket, reason);
  };
  const timer = setTimeout(() => refuse(`no auth frame within ${options.timeoutMs} ms`), options.timeoutMs);
  timer.unref();
  const onData = (chunk: Buffer): void => {
    if (done) return;
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (buffered.length < FRAME_HEADER_BYTES) return;
    const length = buffered.readUInt32LE(0);
    if (buffered[4] !== PROTOCOL_VERSION || buffered[5] !== FrameKind.ClientAuth) return refuse('the first frame is not an auth frame (no token sent)');
    const bodyBytes = length - FRAME_LENGTH_OVERHEAD;
    if (bodyBytes < 1 || bodyBytes > MAX_TOKEN_BYTES) return refuse(`auth frame of ${bodyBytes} bytes (1..${MAX_TOKEN_BYTES})`);
    const total = FRAME_HEADER_BYTES + bodyBytes;
    if (buffered.length < total) return;
    const token = buffered.subarray(FRAME_HEADER_BYTES, total);
    if (!tokensEqual(token, options.expected())) return refuse('wrong token');
    const rest = buffered.subarray(total);
    finish();
    if (rest.length > 0) socket.unshift(rest);
    options.onAccepted(socket);
  };
  socket.on('data', onData);
  socket.on('error', () => {});
}
