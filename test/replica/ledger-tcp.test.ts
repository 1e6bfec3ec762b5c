import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { Ledger } from '../../src/index.js';
import { useTempDirs } from '../support/tmp.js';
import { reserveNodeAddresses } from '../../src/tools/cluster/ports.js';
import { Server } from '../../src/server/server.js';
import { validateConfig } from '../../src/server/config.js';
import { connect } from '../../src/client/index.js';

const tempDir = useTempDirs();

describe('Ledger.open({ peers }): the embedding API over real TCP', () => {
  it('three ledgers on loopback elect a leader, commit, hint the leader address, and close their transports', async () => {
    const ids = ['a', 'b', 'c'];
    const peers = await reserveNodeAddresses(ids);
    const ledgers = await Promise.all(
      ids.map((id) => Ledger.open({ dir: tempDir(), id, peers, segmentSizeBytes: 1024 * 1024, tickMs: 5, heartbeatTicks: 4, electionTicks: 30 })),
    );
    try {
      let leader: Ledger | undefined;
      for (let i = 0; i < 400 && leader === undefined; i++) {
        leader = ledgers.find((l) => l.role === 'leader');
        if (leader === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      expect(leader).toBeDefined();
      const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => leader!.append(Buffer.from(`tcp ${i}`))));
      const last = Math.max(...acks.map((a) => a.index));
      for (let i = 0; i < 400 && ledgers.some((l) => l.commitIndex < last); i++) await new Promise((r) => setTimeout(r, 10));
      for (const l of ledgers) expect(l.read(acks[7]!.index)?.payload.toString()).toBe('tcp 7');
      const follower = ledgers.find((l) => l !== leader)!;
      const refused = await follower.append(Buffer.from('x')).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERR_NOT_LEADER', leaderHint: { id: leader!.id, address: peers[leader!.id]!.client } });
    } finally {
      await Promise.all(ledgers.map((l) => l.close()));
    }
    // The transports are closed: the Raft ports are free again.
    for (const id of ids) {
      const port = Number(peers[id]!.raft.split(':')[1]);
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });

  it('is a group set of one: two embedded ledgers and a `raftledger server` replica (defaults alike) form one group', async () => {
    const ids = ['a', 'b', 'c'];
    const peers = await reserveNodeAddresses(ids);
    const timing = { tickMs: 5, heartbeatTicks: 4, electionTicks: 30 };
    const ledgers = await Promise.all(['a', 'b'].map((id) => Ledger.open({ dir: tempDir(), id, peers, segmentSizeBytes: 1024 * 1024, durability: 'memory', ...timing })));
    let server: Server | undefined;
    try {
      // No clusterId anywhere: the server config's default and Ledger.open's are the same.
      server = await Server.start(validateConfig({ id: 'c', dir: tempDir(), peers, durability: 'memory', segmentSizeBytes: 1024 * 1024, ...timing }));
      expect(server.config.workers).toBe(0);
      // Only the server has a client port: when an embedded ledger wins the election, it
      // hands leadership to the server's replica (else the client's appends can only be
      // redirected to a port nobody listens on, until the deadline).
      const serverLedger = server.ledger(0)!;
      for (let i = 0; i < 2000 && serverLedger.role !== 'leader'; i++) {
        const leader = ledgers.find((l) => l.role === 'leader');
        if (leader !== undefined) await leader.transferLeadership('c', { timeoutMs: 5_000 }).catch(() => {});
        else await new Promise((r) => setTimeout(r, 10));
      }
      expect(serverLedger.role).toBe('leader');
      const client = await connect({ servers: [peers.c!.client], deadlineMs: 20_000 });
      try {
        const ack = await client.append(Buffer.from('one group'));
        for (let i = 0; i < 400 && ledgers.some((l) => l.commitIndex < ack.index); i++) await new Promise((r) => setTimeout(r, 10));
        for (const l of ledgers) expect(l.read(ack.index)?.payload.toString()).toBe('one group');
        expect(server.ledger(0)?.read(ack.index)?.payload.toString()).toBe('one group');
      } finally {
        await client.close();
      }
    } finally {
      await server?.close();
      await Promise.all(ledgers.map((l) => l.close()));
    }
  });

  it('rejects peers that do not include its own id', async () => {
    await expect(Ledger.open({ dir: tempDir(), id: 'z', peers: { a: '127.0.0.1:1' } })).rejects.toThrow(RangeError);
  });
});
