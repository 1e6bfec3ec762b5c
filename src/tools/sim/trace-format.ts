/** One-line descriptions of messages for the simulator's trace (the format its golden traces pin). */
import type { Entry, Message } from '../../raft/types.js';
import type { DriverNode } from './driver.js';

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'append': {
      const n = m.entries.length;
      const range = n === 0 ? 'none' : `${(m.entries[0] as Entry).index}..${(m.entries[n - 1] as Entry).index}`;
      return `${head} prev=${m.prevIndex}/t${m.prevTerm} ents=${range} commit=${m.commit}`;
    }
    case 'appendResp':
      return m.reject
        ? `${head} REJECT idx=${m.index} hint=${m.rejectHint}/t${m.hintTerm}`
        : `${head} ack=${m.index}`;
    case 'heartbeat':
      return `${head} commit=${m.commit}`;
    case 'vote':
    case 'preVote':
      return `${head} last=${m.lastIndex}/t${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head} ${m.reject ? 'REJECT' : 'GRANT'}`;
    default:
      return head;
  }
}

/** Each live node's role, term and commit index, for a liveness failure. */
export function describeLeaders(nodes: readonly DriverNode[]): string {
  return (
    nodes
      .filter((n) => n.up && n.core !== null)
      .map((n) => `${n.id}:${n.core!.role}/t${n.core!.term}/c${n.core!.commitIndex}`)
      .join(' ') || 'none up'
  );
}
