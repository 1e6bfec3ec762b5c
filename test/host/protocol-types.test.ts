// Type-level tests of the host RPC: checked by `npm run typecheck` (tsc over test/, run by
// CI); the runtime part only makes sure the file loads. A response type that drifts from
// its request (or a call site that needs a cast again) fails to compile here.
import { describe, expectTypeOf, it } from 'vitest';
import type { LedgerEntry } from '../../src/entry.js';
import type { WorkerChannel } from '../../src/host/channel.js';
import type { LedgerHost } from '../../src/host/ledger-host.js';
import type {
  GroupStatus,
  HostOp,
  HostRequest,
  HostRequestFields,
  HostResponses,
  Result,
  TransferredEntry,
  WireAppendAck,
} from '../../src/host/protocol.js';
import type { GroupShard } from '../../src/host/shard.js';
import type { AppendAck } from '../../src/replica/pending.js';

describe('host RPC types', () => {
  it('pairs every request op with exactly one response type', () => {
    expectTypeOf<keyof HostResponses>().toEqualTypeOf<HostOp>();
    expectTypeOf<keyof HostRequestFields>().toEqualTypeOf<HostOp>();
    expectTypeOf<HostRequest<'read'>>().toEqualTypeOf<{ op: 'read' } & { group: number; index: number; uncommitted?: boolean }>();
    expectTypeOf<HostRequest['op']>().toEqualTypeOf<HostOp>();
    expectTypeOf<NonNullable<Result['ok']>>().toEqualTypeOf<NonNullable<HostResponses[HostOp]>>();
  });

  it('gives WorkerChannel.call and GroupShard.handle the response type of the request op', () => {
    type Call = WorkerChannel['call'];
    type Handle = GroupShard['handle'];
    const call = null as unknown as Call;
    const handle = null as unknown as Handle;
    const never = (): boolean => false;
    if (never()) {
      expectTypeOf(call({ op: 'append', group: 0, payloads: [] })).resolves.toEqualTypeOf<WireAppendAck>();
      expectTypeOf(call({ op: 'read', group: 0, index: 1 })).resolves.toEqualTypeOf<TransferredEntry | null>();
      expectTypeOf(call({ op: 'readRange', group: 0, from: 1, limit: 2 })).resolves.toEqualTypeOf<TransferredEntry[]>();
      expectTypeOf(call({ op: 'status', group: 0 })).resolves.toEqualTypeOf<GroupStatus>();
      expectTypeOf(call({ op: 'statusAll' })).resolves.toEqualTypeOf<GroupStatus[]>();
      expectTypeOf(call({ op: 'transferLeadership', group: 0, to: 'n2' })).resolves.toEqualTypeOf<null>();
      expectTypeOf(handle({ op: 'addGroup', group: 3 })).resolves.toEqualTypeOf<null>();
      expectTypeOf(handle({ op: 'read', group: 0, index: 1 })).resolves.toEqualTypeOf<TransferredEntry | null>();
      // @ts-expect-error a read needs an index
      void call({ op: 'read', group: 0 });
      // @ts-expect-error no such op
      void call({ op: 'compact', group: 0 });
    }
  });

  it('gives LedgerHost public results their own types', () => {
    expectTypeOf<LedgerHost['read']>().returns.resolves.toEqualTypeOf<LedgerEntry | null>();
    expectTypeOf<LedgerHost['readRange']>().returns.resolves.toEqualTypeOf<LedgerEntry[]>();
    expectTypeOf<LedgerHost['status']>().toBeCallableWith(0);
    expectTypeOf<Awaited<ReturnType<LedgerHost['append']>>>().toEqualTypeOf<AppendAck[]>(); // the last overload: many payloads
    expectTypeOf<TransferredEntry['payload']>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<LedgerEntry['payload']>().toEqualTypeOf<Buffer>();
  });
});
