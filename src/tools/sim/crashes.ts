/**
 * Crashes, restarts and the heal in the simulator. A crash loses the node's
 * unflushed writes except a random prefix (possibly with a torn part of the
 * next one); the node restarts later from its durable state. The heal ends the
 * fault phase: damage repaired, a calm network, short flushes, and every down
 * node restarted.
 */
import type { Ready } from '../../raft/types.js';
import type { SimContext, SimNode } from './sim-node.js';

export function crash(s: SimContext, i: number): void {
  const node = s.nodes[i] as SimNode;
  const r = s.diskRng;
  // Some of the unflushed writes may have reached the disk, possibly torn.
  const keep = r() < 0.5 ? 0 : Math.floor(r() * (node.pending.length + 1));
  const torn = node.pending[keep];
  const tornEntries = torn !== undefined && r() < 0.3 ? Math.floor(r() * torn.entries.length) : undefined;
  node.crash(keep, tornEntries);
  node.proposals.clear();
  s.stats.crashes++;
  s.trace(`FAULT crash ${node.id} (durable last=${node.durable.lastIndex()} term=${node.durable.hardState().term})`);
}

/** A scheduled crash: skipped after the heal, for a node already down, or when it would leave no node up. */
export function onCrashEvent(s: SimContext, ev: { node: number; restartIn: number }): void {
  const node = s.nodes[ev.node] as SimNode;
  if (s.healed || !node.up || s.nodes.filter((x) => x.up).length <= 1) return;
  crash(s, ev.node);
  s.push(s.now + ev.restartIn, { k: 'restart', node: ev.node });
}

export function onRestartEvent(s: SimContext, i: number): void {
  const node = s.nodes[i] as SimNode;
  if (node.up) return;
  s.trace(`RESTART ${node.id}`);
  s.startNode(i);
  s.drain(node);
}

/** A Ready's writes are pending: aim some crashes at the window where a new term/vote is not yet durable. */
export function aimCrashAtSync(s: SimContext, node: SimNode, rd: Ready): void {
  if (rd.hardStateMustSync && !s.healed && s.crashRng() < 0.08) {
    s.push(s.now + Math.floor(s.crashRng() * 3), {
      k: 'crash',
      node: s.nodes.indexOf(node),
      restartIn: 1 + Math.floor(s.crashRng() * 20),
    });
  }
}

/** The heal, after the simulation marked itself healed: faults stop, all nodes restart. */
export function heal(s: SimContext): void {
  s.dmg?.healAll(s.nodes);
  s.net.calm();
  s.flushMax = Math.min(s.flushMax, 10);
  s.trace('HEAL: faults stop, all nodes restart');
  for (let i = 0; i < s.nodes.length; i++) {
    const node = s.nodes[i] as SimNode;
    if (!node.up) {
      s.startNode(i);
      s.drain(node);
    }
  }
}
