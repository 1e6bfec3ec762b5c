/**
 * One-line descriptions of Raft messages, the one place both trace formats live:
 *  - brief (describeMessage): the simulator's trace; an append's entries as an index range.
 *  - full (formatMessage): the golden-trace scripts (test/raft/script.ts); entries with their
 *    payloads, epochs and the log-start fields.
 * Replayed simulator traces and the checked-in test/raft/testdata pin both: change neither
 * without updating those.
 */
import { decodeConfiguration } from '../../raft/conf-change.js';
import { EntryType, type Entry, type Message } from '../../raft/types.js';
import type { DriverNode } from './driver.js';

const dec = new TextDecoder();

export function describeMessage(m: Message): string {
  return format(m, false);
}

export function formatMessage(m: Message): string {
  return format(m, true);
}

function format(m: Message, full: boolean): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'append': {
      const only = m.commitOnly === true ? ' commit-only' : '';
      if (full) return `${head} prev=${m.prevIndex}/t${m.prevTerm} commit=${m.commit} ${formatEntries(m.entries)}${only}`;
      const n = m.entries.length;
      const range = n === 0 ? 'none' : `${(m.entries[0] as Entry).index}..${(m.entries[n - 1] as Entry).index}`;
      return `${head} prev=${m.prevIndex}/t${m.prevTerm} ents=${range} commit=${m.commit}${only}`;
    }
    case 'appendResp':
      if (full) {
        return m.reject
          ? `${head} reject=${m.index} hint=${m.rejectHint}/t${m.hintTerm} epoch=${m.epoch}`
          : `${head} ack=${m.index} epoch=${m.epoch}`;
      }
      return m.reject
        ? `${head} REJECT idx=${m.index} hint=${m.rejectHint}/t${m.hintTerm}`
        : `${head} ack=${m.index}`;
    case 'heartbeatResp':
      return full ? `${head} epoch=${m.epoch}` : head;
    case 'heartbeat':
      return `${head} commit=${m.commit}`;
    case 'vote':
    case 'preVote':
      return `${head} last=${m.lastIndex}/t${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head} ${m.reject ? (full ? 'reject' : 'REJECT') : full ? 'grant' : 'GRANT'}`;
    case 'logStart':
      return full ? `${head} start=${m.index}/t${m.logTerm} pos=${m.pos} snapshot v${m.snapshotVersion} [${m.offset}, ${m.offset + m.chunk.byteLength}) of ${m.snapshotSize}` : head;
    case 'logStartResp':
      return full ? `${head} start=${m.index} snapshot v${m.snapshotVersion} holds ${m.offset}${m.done ? ' done' : ''} epoch=${m.epoch}` : head;
    default:
      return head;
  }
}

/** Entries with their payloads (up to 6; else the first and the last). */
export function formatEntries(ents: readonly Entry[]): string {
  const one = (e: Entry): string =>
    `${e.index}/t${e.term} ${e.type === EntryType.Noop ? 'noop' : e.type === EntryType.Config ? formatConf(e.data) : JSON.stringify(dec.decode(e.data))}`;
  if (ents.length <= 6) return `[${ents.map(one).join(', ')}]`;
  return `[${one(ents[0]!)}, ... ${one(ents[ents.length - 1]!)} (${ents.length} entries)]`;
}

function formatConf(body: Uint8Array): string {
  const c = decodeConfiguration(body);
  return `config{voters ${c.voters.map((m) => m.id).join(',')}${c.learners.length > 0 ? `; learners ${c.learners.map((m) => m.id).join(',')}` : ''}}`;
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
