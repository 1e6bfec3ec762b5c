/**
 * The simulator's fault schedule: at each fault event one of partition,
 * one-way cut, healed links, a crash (the leader half of the time, sometimes
 * a second node shortly after), a leadership transfer, one or two spurious
 * campaigns (sometimes with a voter crashing while its vote may not be
 * durable), new network rates, or a new disk speed. All draws come from the
 * fault generator, in this order, so a seed replays exactly.
 */
import { RaftRefusal } from '../../raft/types.js';
import { crash } from './crashes.js';
import type { SimContext, SimNode } from './sim-node.js';

export function fault(s: SimContext): void {
  const r = s.faultRng;
  const x = r();
  const upIdx = s.nodes.map((n, i) => (n.up ? i : -1)).filter((i) => i >= 0);
  if (x < 0.15) {
    const side = s.net.partitionMinority(s.ids, r);
    s.trace(`FAULT partition {${[...side].join(',')}} | rest`);
  } else if (x < 0.25) {
    s.trace(`FAULT one-way cut ${s.net.cutOneWay(s.ids, r)}`);
  } else if (x < 0.4) {
    s.net.cut.clear();
    s.trace('FAULT heal links');
  } else if (x < 0.6) {
    // crash a node, the leader half of the time (keep at least one up)
    if (upIdx.length <= 1) return;
    const l = s.leaderNode();
    const i = l !== undefined && r() < 0.5 ? s.nodes.indexOf(l) : (upIdx[Math.floor(r() * upIdx.length)] as number);
    crash(s, i);
    s.push(s.now + 1 + Math.floor(r() * (r() < 0.5 ? 50 : 600)), { k: 'restart', node: i });
    // Sometimes a second node goes down shortly after (losing its unflushed writes too).
    if (r() < 0.4) s.push(s.now + Math.floor(r() * 60), { k: 'crash', node: Math.floor(r() * s.n), restartIn: 1 + Math.floor(r() * 100) });
  } else if (x < 0.72) {
    const l = s.leaderNode();
    if (l === undefined || l.core === null) return;
    const to = s.ids[Math.floor(r() * s.n)] as string;
    try {
      l.core.transferLeadership(to);
      s.stats.transfers++;
      s.trace(`FAULT transfer ${l.id} -> ${to}`);
    } catch (e) {
      if (!(e instanceof RaftRefusal) && !(e instanceof RangeError)) throw e; // RangeError: `to` is not a voter
    }
    s.drain(l);
  } else if (x < 0.82) {
    // One or two nodes campaign at once; sometimes a voter crashes right after.
    const k = r() < 0.5 ? 1 : 2;
    const campaigned: number[] = [];
    for (let j = 0; j < k; j++) {
      const i = upIdx[Math.floor(r() * upIdx.length)];
      if (i === undefined) return;
      campaigned.push(i);
      const node = s.nodes[i] as SimNode;
      if (node.core === null || node.core.role === 'leader') continue;
      s.trace(`FAULT campaign ${node.id}`);
      s.campaignedEarly();
      node.core.campaign();
      s.drain(node);
    }
    if (r() < 0.5) {
      // crash a voter (a node that did not campaign, if any) while its vote may not be durable
      const voters = upIdx.filter((i) => !campaigned.includes(i));
      const v = voters.length > 0 ? (voters[Math.floor(r() * voters.length)] as number) : Math.floor(r() * s.n);
      s.push(s.now + Math.floor(r() * 30), { k: 'crash', node: v, restartIn: 1 + Math.floor(r() * 30) });
    }
  } else if (x < 0.91) {
    s.trace(`FAULT network ${s.net.randomize(r)}`);
  } else {
    s.flushMax = 1 + Math.floor(r() * (r() < 0.3 ? 150 : 40));
    s.trace(`FAULT disk flushMax=${s.flushMax}ms`);
  }
}
