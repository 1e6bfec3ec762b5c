/**
 * What a Ready tells a replica besides work to do: role and leader changes (logged,
 * counted, emitted as 'role' and 'leader' events) and followers that need entries below
 * this log's first index (logged at most once per 10 s per follower).
 */
import type { Ready, Role } from '../raft/index.js';
import type { LedgerStats } from './ledger-stats.js';

export interface ReadyNotesDeps {
  id: string;
  group: number;
  stats: LedgerStats;
  firstIndex(): number;
  logLine(line: string): void;
  emitRole(role: Role, term: number): void;
  emitLeader(leader: string, term: number): void;
}

export class ReadyNotes {
  readonly #d: ReadyNotesDeps;
  readonly #catchUpLoggedAt = new Map<string, number>();
  #lastRole: Role = 'follower';
  #lastLeader = '';

  constructor(deps: ReadyNotesDeps) {
    this.#d = deps;
  }

  observe(rd: Ready): void {
    const d = this.#d;
    for (const req of rd.needsCatchUp) {
      const last = this.#catchUpLoggedAt.get(req.peer) ?? 0;
      if (Date.now() - last > 10_000) {
        this.#catchUpLoggedAt.set(req.peer, Date.now());
        d.logLine(`[${d.id}] follower ${req.peer} needs index ${req.fromIndex}, below this log's first index ${d.firstIndex()}`);
      }
    }
    const s = rd.softState;
    if (s === null) return;
    if (s.role !== this.#lastRole) {
      this.#lastRole = s.role;
      if (s.role === 'candidate') d.stats.elections++;
      d.logLine(`[${d.id}] role changed group=${d.group} role=${s.role} term=${s.term} leader=${s.leader === '' ? '-' : s.leader}`);
      d.emitRole(s.role, s.term);
    }
    if (s.leader !== this.#lastLeader) {
      this.#lastLeader = s.leader;
      if (s.leader !== '') d.stats.leaderChanges++;
      d.logLine(`[${d.id}] leader changed group=${d.group} leader=${s.leader === '' ? '-' : s.leader} term=${s.term} role=${s.role}`);
      d.emitLeader(s.leader, s.term);
    }
  }
}
