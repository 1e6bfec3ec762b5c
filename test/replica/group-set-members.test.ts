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
});
