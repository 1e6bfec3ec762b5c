/** GroupSet: the transport's peers are the union of the members every group names (link.setMembers). */
import { describe, expect, it } from 'vitest';
import { GroupSet } from '../../src/replica/group-set.js';

describe('GroupSet peers follow the groups\' configurations', () => {
  it('adds new members, drops a peer no group names any more, and forgets a detached group\'s', async () => {
    const set = new GroupSet({ id: 'a', listen: '127.0.0.1:65000', peers: { b: '127.0.0.1:1', c: '127.0.0.1:2' } });
    try {
      const peers = (): string[] => Object.keys(set.transportStats().peers).sort();
      expect(peers()).toEqual(['b', 'c']);
      const clients = set.link(0).setMembers([{ id: 'b', address: '127.0.0.1:1/101' }, { id: 'd', address: '127.0.0.1:3/103' }]);
      expect(clients).toEqual({ b: '127.0.0.1:101', d: '127.0.0.1:103' });
      expect(peers()).toEqual(['b', 'd']); // c is in no group's configuration
      set.link(1).setMembers([{ id: 'c', address: '127.0.0.1:2/102' }, { id: 'e', address: '' }]);
      expect(peers()).toEqual(['b', 'c', 'd', 'e']);
      set.attach(1, { receive: () => {} });
      set.detach(1);
      expect(peers()).toEqual(['b', 'd']);
    } finally {
      await set.close();
    }
  });

  it('keeps a peer the transport admitted unnamed (a newer member dialing in) until a configuration names and then drops it', async () => {
    const { PeerTransport } = await import('../../src/transport/peer-transport.js');
    const { freeConsecutivePorts } = await import('../../src/tools/cluster/ports.js');
    const port = await freeConsecutivePorts(1);
    const set = new GroupSet({ id: 'n4', listen: `127.0.0.1:${port}`, peers: { n0: '127.0.0.1:1' } });
    const newer = new PeerTransport({ id: 'n3', listen: { host: '127.0.0.1', port: 0 }, peers: { n4: '' }, handshake: { clusterId: 'raftledger', segmentSizeBytes: 64 * 1024 * 1024 }, onMessage: () => {} });
    try {
      await set.start();
      await newer.start();
      newer.setPeerAddress('n4', `127.0.0.1:${port}`);
      const peers = (): string[] => Object.keys(set.transportStats().peers).sort();
      for (let i = 0; i < 500 && !peers().includes('n3'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(peers()).toEqual(['n0', 'n3']);
      set.link(0).setMembers([{ id: 'n0', address: '127.0.0.1:1/101' }, { id: 'n4', address: '' }]); // an old configuration: no n3
      expect(peers()).toEqual(['n0', 'n3']); // the admitted link stays
      set.link(0).setMembers([{ id: 'n0', address: '127.0.0.1:1/101' }, { id: 'n3', address: '' }]);
      set.link(0).setMembers([{ id: 'n0', address: '127.0.0.1:1/101' }]);
      expect(peers()).toEqual(['n0']); // named, then dropped
    } finally {
      await newer.close();
      await set.close();
    }
  });
});
