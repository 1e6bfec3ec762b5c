/** The client protocol's membership ops (member-codec.ts through client-codec.ts): round trips and malformed input. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeClientRequest, decodeClientResponse, encodeClientRequest, encodeClientResponse, type ClientRequest } from '../../src/transport/client-codec.js';
import { FRAME_HEADER_BYTES } from '../../src/transport/frame.js';
import { isRaftLedgerError } from '../../src/errors.js';
import { MAIN } from '../cli/processes.js';

const body = (frame: Buffer): Buffer => frame.subarray(FRAME_HEADER_BYTES);

function expectProtocolError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(isRaftLedgerError(error, 'ERR_PROTOCOL')).toBe(true);
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected ERR_PROTOCOL');
}

describe('membership requests and responses', () => {
  it('round-trip: members, and each change type with and without address and force', () => {
    const requests: ClientRequest[] = [
      { id: 7, group: 3, op: 'members' },
      { id: 8, group: 0, op: 'changeMembers', change: { type: 'addLearner', id: 'n3', address: '10.0.0.4:7000/7100' } },
      { id: 9, group: 1, op: 'changeMembers', change: { type: 'promote', id: 'n3' } },
      { id: 10, group: 1, op: 'changeMembers', change: { type: 'remove', id: 'n0', force: true } },
    ];
    for (const r of requests) expect(decodeClientRequest(body(encodeClientRequest(r)))).toEqual(r);
    const view = { voters: [{ id: 'n0', address: 'h:1/2', lag: 0 }], learners: [], configIndex: 5, committed: true };
    expect(decodeClientResponse(body(encodeClientResponse({ id: 4, kind: 'members', members: view })))).toEqual({ id: 4, kind: 'members', members: view });
  });

  it('refuses malformed requests with ERR_PROTOCOL and bad arguments with TypeError/RangeError', () => {
    const good = body(encodeClientRequest({ id: 1, group: 0, op: 'changeMembers', change: { type: 'promote', id: 'x' } }));
    const badType = Buffer.from(good);
    badType[9] = 9;
    expectProtocolError(() => decodeClientRequest(badType), /membership change type 9/);
    const badFlags = Buffer.from(good);
    badFlags[10] = 2;
    expectProtocolError(() => decodeClientRequest(badFlags), /flags/);
    expectProtocolError(() => decodeClientRequest(good.subarray(0, good.length - 1)), /truncated/);
    expectProtocolError(() => decodeClientRequest(Buffer.concat([good, Buffer.from([0])])), /trailing|bytes/);
    const emptyId = Buffer.from(good);
    emptyId[11] = 0;
    expectProtocolError(() => decodeClientRequest(emptyId.subarray(0, 12 + 2)), /./);
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'changeMembers', change: { type: 'nope' as 'promote', id: 'x' } })).toThrow(TypeError);
    expect(() => encodeClientRequest({ id: 1, group: 0, op: 'changeMembers', change: { type: 'addLearner', id: 'x', address: 'a'.repeat(2000) } })).toThrow(RangeError);
    const res = body(encodeClientResponse({ id: 4, kind: 'members', members: { voters: [] } }));
    const notJson = Buffer.from(res);
    notJson[res.length - 1] = 0x7b; // '{'
    expectProtocolError(() => decodeClientResponse(notJson), /not valid JSON/);
  });
});

describe('raftledger members: usage errors', () => {
  const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => spawnSync(process.execPath, [MAIN, 'members', ...args], { encoding: 'utf8', timeout: 30_000 });
  it('--help, and clear errors for missing or bad arguments (exit 2, nothing sent)', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('raftledger members --servers');
    for (const [args, text] of [
      [['list'], 'members needs --servers'],
      [['--servers', '127.0.0.1:1'], 'needs an action'],
      [['--servers', '127.0.0.1:1', 'frob'], "unknown action 'frob'"],
      [['--servers', '127.0.0.1:1', 'add', 'n3'], 'needs ID=RAFT_ADDR'],
      [['--servers', '127.0.0.1:1', 'add', 'n3=h:1'], 'needs --learner'],
      [['--servers', '127.0.0.1:1', 'promote'], 'needs a member id'],
      [['--servers', '127.0.0.1:1', 'remove', 'bad id!'], 'must be 1-64 characters'],
      [['--servers', '127.0.0.1:1', 'promote', 'n1', '--force'], '--force goes with remove'],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(text);
    }
  });
});
