/**
 * The interpreter of the golden-trace scripts in test/raft/testdata/*.txt (in the
 * style of etcd-io/raft's data-driven tests). A script drives a TestCluster
 * (harness.ts) one command at a time; each command returns the text it printed,
 * which golden.test.ts compares with the expected output checked in below it.
 *
 * Commands (node names are n1..nN; <filter> selects queued messages, below):
 *   nodes N [preVote=false] [checkQuorum=false] [maxEntries=K] [maxBytes=B]
 *           [maxInflight=K] [heartbeat=T] [election=T]   a new cluster, every disk auto-flushing
 *           [snapshot=B] [chunk=B]    leaders send a B-byte application snapshot with a
 *                                     log start, in chunks of B bytes
 *   campaign n1                 n1 starts an election (pre-vote first, if enabled)
 *   propose n1 x [y ...]        n1 proposes payloads (each proposal its own Ready)
 *   propose-batch n1 x [y ...]  n1 proposes payloads in one call (one entry batch)
 *   propose-many n1 K [prefix]  n1 proposes K payloads prefix1..prefixK in one call
 *   transfer n1 n2              n1 hands leadership to n2
 *   conf n1 add-learner|promote|remove n2   n1 proposes a membership change (docs/RAFT.md)
 *   tick n1[,n2...]|all [k]     k rounds of one tick per node (default 1), each followed by the Ready loop
 *   deliver [<filter>]          delivers the queued messages that match, in queue order;
 *                               what they cause is queued, not delivered
 *   drop [<filter>]             removes the queued messages that match
 *   stabilize [<filter>]        delivers until nothing that matches is queued (the rest stays queued)
 *   messages                    prints the queue
 *   status n1                   prints role, term, indexes and (on a leader) per-follower progress
 *   log n1                      prints n1's log
 *   isolate n1 / partition n1 [n2 ...] | n3 ... / heal
 *                               cut links; a message on a cut link is dropped when delivered
 *   autoflush n1 on|off         whether n1's disk flushes at once
 *   flush n1 [k]                n1's disk completes its first k pending writes (default all)
 *   restart n1 [lose-after=I]   n1 crashes (losing unflushed writes, and, with lose-after,
 *                               every durable entry after I) and starts again
 *   compact n1 I                n1 drops its entries below I
 *
 * <filter>: any of `a->b` (either side may be `*`), `type=T` (a message type), and
 * `#k` (only the k-th of the messages matching the rest, 1-based).
 *
 * Output: a delivered message is printed unindented, what it caused indented
 * under it; `sent` is a message entering the network, `held` one waiting for its
 * write to be durable (only shown when the node does not auto-flush).
 */
import { RaftRefusal, type Entry, type Message, type RaftConfig, type Ready } from '../../src/raft/index.js';
import type { DriverNode } from '../../src/tools/sim/driver.js';
import { formatEntries, formatMessage } from '../../src/tools/sim/trace-format.js';
import { TestCluster, type TestNode } from './harness.js';

const enc = new TextEncoder();

interface Filter {
  from: string;
  to: string;
  type: string;
  nth: number;
}

function parseFilter(args: string[]): Filter {
  const f: Filter = { from: '*', to: '*', type: '*', nth: 0 };
  for (const a of args) {
    const link = /^([\w*]+)->([\w*]+)$/.exec(a);
    if (link) {
      f.from = link[1]!;
      f.to = link[2]!;
    } else if (a.startsWith('type=')) {
      f.type = a.slice(5);
    } else if (/^#\d+$/.test(a)) {
      f.nth = Number(a.slice(1));
    } else {
      throw new Error(`bad message filter ${JSON.stringify(a)}`);
    }
  }
  return f;
}

function matches(f: Filter, m: Message): boolean {
  return (f.from === '*' || f.from === m.from) && (f.to === '*' || f.to === m.to) && (f.type === '*' || f.type === m.type);
}

/** Queue positions of the messages a filter selects. */
function select(f: Filter, queue: readonly Message[]): number[] {
  const idx: number[] = [];
  for (let i = 0; i < queue.length; i++) if (matches(f, queue[i]!)) idx.push(i);
  if (f.nth > 0) return idx.length >= f.nth ? [idx[f.nth - 1]!] : [];
  return idx;
}

const CONFIG_KEYS: Record<string, keyof RaftConfig> = {
  preVote: 'preVote',
  checkQuorum: 'checkQuorum',
  maxEntries: 'maxEntriesPerMessage',
  maxBytes: 'maxBytesPerMessage',
  maxInflight: 'maxInflightMessages',
  heartbeat: 'heartbeatTicks',
  election: 'electionTicks',
};

const STABILIZE_LIMIT = 10_000;

export class Script {
  #c: TestCluster | null = null;
  #out: string[] = [];
  #indent = '';

  /** Runs one command line; returns what it printed ('ok' if nothing). */
  run(line: string): string {
    this.#out = [];
    this.#indent = '';
    const [cmd, ...args] = line.trim().split(/\s+/);
    switch (cmd) {
      case 'nodes':
        this.#nodes(args);
        break;
      case 'campaign':
        this.#node(args[0]).raft.campaign();
        this.#cluster.node(args[0]!).drain();
        break;
      case 'propose':
        for (const p of args.slice(1)) this.#refusable(args[0], (n) => n.raft.propose([enc.encode(p)]));
        break;
      case 'propose-batch':
        this.#refusable(args[0], (n) => n.raft.propose(args.slice(1).map((p) => enc.encode(p))));
        break;
      case 'propose-many': {
        const k = Number(args[1]);
        const prefix = args[2] ?? 'p';
        this.#refusable(args[0], (n) => n.raft.propose(Array.from({ length: k }, (_v, i) => enc.encode(`${prefix}${i + 1}`))));
        break;
      }
      case 'conf': {
        const type = args[1] === 'add-learner' ? 'addLearner' : args[1] === 'promote' ? 'promote' : args[1] === 'remove' ? 'remove' : undefined;
        if (type === undefined) throw new Error(`conf: unknown change ${String(args[1])}`);
        const id = this.#node(args[2]).id;
        this.#refusable(args[0], (n) => n.raft.proposeConfChange({ type, id, address: '' }));
        break;
      }
      case 'transfer':
        this.#refusable(args[0], (n) => n.raft.transferLeadership(this.#node(args[1]).id));
        break;
      case 'tick': {
        const k = args[1] === undefined ? 1 : Number(args[1]);
        const who = args[0] === 'all' ? this.#cluster.ids : (args[0] ?? '').split(',').map((a) => this.#node(a).id);
        for (let i = 0; i < k; i++) for (const id of who) this.#cluster.tick(id);
        break;
      }
      case 'deliver':
        this.#deliver(parseFilter(args), false);
        break;
      case 'stabilize':
        this.#deliver(parseFilter(args), true);
        break;
      case 'drop': {
        const c = this.#cluster;
        const picked = new Set(select(parseFilter(args), c.queue));
        for (const i of picked) this.#print(`dropped ${formatMessage(c.queue[i]!)}`);
        c.queue = c.queue.filter((_m, i) => !picked.has(i));
        break;
      }
      case 'messages':
        for (const m of this.#cluster.queue) this.#print(formatMessage(m));
        if (this.#cluster.queue.length === 0) this.#print('(none)');
        break;
      case 'status':
        this.#status(this.#node(args[0]).id);
        break;
      case 'log':
        this.#log(this.#node(args[0]).id);
        break;
      case 'isolate':
        this.#cluster.isolate(this.#node(args[0]).id);
        break;
      case 'partition': {
        const bar = args.indexOf('|');
        if (bar < 0) throw new Error('partition: expected `a [b ...] | c [d ...]`');
        const left = args.slice(0, bar).map((a) => this.#node(a).id);
        const right = args.slice(bar + 1).map((a) => this.#node(a).id);
        for (const a of left) {
          for (const b of right) {
            this.#cluster.cut.add(`${a}->${b}`);
            this.#cluster.cut.add(`${b}->${a}`);
          }
        }
        break;
      }
      case 'heal':
        this.#cluster.heal();
        break;
      case 'autoflush':
        this.#node(args[0]).autoFlush = args[1] === 'on';
        break;
      case 'flush': {
        const n = this.#node(args[0]);
        n.flush(args[1] === undefined ? n.pending.length : Number(args[1]));
        break;
      }
      case 'restart': {
        const n = this.#node(args[0]);
        n.crash();
        const lose = args.find((a) => a.startsWith('lose-after='));
        if (lose !== undefined) n.loseEntriesAfter(Number(lose.slice('lose-after='.length)));
        const core = n.start();
        this.#print(`${n.id}: restarted (incarnation ${n.incarnation}) term=${core.term} vote=${core.vote || '-'} commit=${core.commitIndex} last=${core.lastIndex}`);
        break;
      }
      case 'compact': {
        const n = this.#node(args[0]);
        n.compact(Number(args[1]));
        this.#print(`${n.id}: first=${n.live.firstIndex()}`);
        break;
      }
      default:
        throw new Error(`unknown command ${JSON.stringify(cmd)}`);
    }
    return this.#out.length === 0 ? 'ok' : this.#out.join('\n');
  }

  get #cluster(): TestCluster {
    if (this.#c === null) throw new Error('no cluster yet: start with `nodes N`');
    return this.#c;
  }

  #node(name: string | undefined) {
    if (name === undefined) throw new Error('missing node name');
    return this.#cluster.node(name);
  }

  /** Runs a leader-only call on a node and its Ready loop; prints a RaftRefusal instead of throwing. */
  #refusable(name: string | undefined, fn: (n: TestNode) => unknown): void {
    const n = this.#node(name);
    try {
      fn(n);
    } catch (e) {
      if (!(e instanceof RaftRefusal)) throw e;
      this.#print(`${n.id}: refused ${e.code} (leader ${e.leader || '-'})`);
    }
    n.drain();
  }

  #print(s: string): void {
    this.#out.push(this.#indent + s);
  }

  #nodes(args: string[]): void {
    const n = Number(args[0]);
    if (!Number.isInteger(n) || n < 1) throw new Error('nodes: expected a count');
    const cfg: Partial<RaftConfig> = {};
    for (const a of args.slice(1)) {
      const [k, v] = a.split('=');
      if (k === 'snapshot') {
        const data = new Uint8Array(Number(v)).map((_x, i) => i & 0xff);
        cfg.appSnapshot = () => ({ version: 1, data });
        continue;
      }
      if (k === 'chunk') {
        cfg.snapshotChunkBytes = Number(v);
        continue;
      }
      const key = CONFIG_KEYS[k ?? ''];
      if (key === undefined || v === undefined) throw new Error(`nodes: unknown option ${a}`);
      (cfg as Record<string, unknown>)[key] = v === 'true' ? true : v === 'false' ? false : Number(v);
    }
    const ids = Array.from({ length: n }, (_v, i) => `n${i + 1}`);
    const c = new TestCluster(ids, cfg);
    c.tracer = {
      sent: (m) => this.#print(`sent ${formatMessage(m)}`),
      ready: (node, rd) => this.#ready(node, rd),
      flushed: (node) => {
        if (!node.autoFlush) this.#print(`${node.id}: durable through ${node.durable.lastIndex()}`);
      },
    };
    this.#c = c;
  }

  #ready(node: DriverNode, rd: Ready): void {
    const id = node.id;
    if (rd.softState) {
      const s = rd.softState;
      this.#print(`${id}: becomes ${s.role} (term ${s.term}, leader ${s.leader || '-'})`);
    }
    if (rd.hardState && rd.hardStateMustSync) {
      this.#print(`${id}: persists term=${rd.hardState.term} vote=${rd.hardState.vote || '-'}`);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const over = first <= node.live.lastIndex() ? ` (overwrites from ${first})` : '';
      this.#print(`${id}: writes ${formatEntries(rd.entries)}${over}`);
    }
    if (rd.committed) this.#print(`${id}: applies ${rd.committed.from}..${rd.committed.to}`);
    for (const r of rd.needsCatchUp) this.#print(`${id}: needs catch-up: ${r.peer} from ${r.fromIndex}`);
    if (rd.logReset) {
      const a = rd.logReset.at;
      this.#print(`${id}: resets its log to start after ${a.index}/t${a.term} at pos ${a.pos}, installs a ${rd.logReset.snapshot.byteLength}-byte snapshot`);
    }
    if (!node.autoFlush) {
      for (const m of rd.messages) if (m.waitForHardState || m.waitForDurableIndex !== undefined) this.#print(`held ${formatMessage(m)}`);
    }
  }

  #deliver(f: Filter, untilQuiet: boolean): void {
    const c = this.#cluster;
    c.drainAll();
    let delivered = 0;
    for (;;) {
      const picked = select(f, c.queue);
      if (picked.length === 0) break;
      // One pass over what is queued now; a stabilize repeats passes until nothing matches.
      const batch = picked.map((i) => c.queue[i]!);
      const set = new Set(picked);
      c.queue = c.queue.filter((_m, i) => !set.has(i));
      for (const m of batch) {
        if (++delivered > STABILIZE_LIMIT) throw new Error(`more than ${STABILIZE_LIMIT} messages: not converging`);
        const to = c.node(m.to);
        if (c.cut.has(`${m.from}->${m.to}`)) {
          this.#print(`${formatMessage(m)} (dropped: link cut)`);
          continue;
        }
        if (to.core === null) {
          this.#print(`${formatMessage(m)} (dropped: ${m.to} is down)`);
          continue;
        }
        this.#print(formatMessage(m));
        this.#indent = '  ';
        to.core.step(m);
        to.drain();
        c.drainAll();
        this.#indent = '';
      }
      if (!untilQuiet) break;
    }
    if (delivered === 0) this.#print('(no messages)');
  }

  /** The log, one line per entry; in a run of one term longer than 5, only its first two and last entries. */
  #log(id: string): void {
    const core = this.#cluster.core(id);
    const ents = core.entries(core.firstIndex, core.lastIndex + 1) ?? [];
    this.#print(`${id}: first=${core.firstIndex} last=${core.lastIndex}`);
    const line = (e: Entry): void => this.#print(`  ${formatEntries([e]).slice(1, -1)}`);
    for (let i = 0; i < ents.length; ) {
      let j = i;
      while (j < ents.length && ents[j]!.term === ents[i]!.term) j++;
      if (j - i <= 5) {
        for (let k = i; k < j; k++) line(ents[k]!);
      } else {
        line(ents[i]!);
        line(ents[i + 1]!);
        this.#print(`  ... ${j - i - 3} more of term ${ents[i]!.term}`);
        line(ents[j - 1]!);
      }
      i = j;
    }
  }

  #status(id: string): void {
    const s = this.#cluster.core(id).status();
    this.#print(
      `${id}: ${s.role} term=${s.term} vote=${s.vote || '-'} leader=${s.leader || '-'} ` +
        `commit=${s.commitIndex} applied=${s.appliedIndex} last=${s.lastIndex} durable=${s.durableIndex} first=${s.firstIndex}` +
        (s.transferee ? ` transferee=${s.transferee}` : ''),
    );
    for (const [peer, p] of Object.entries(s.progress)) {
      this.#print(
        `  ${peer}: ${p.state} match=${p.match} next=${p.next} inflight=${p.inflight} epoch=${p.epoch}` +
          `${p.verifying ? ' verifying' : ''}${p.recentActive ? ' active' : ''}` +
          (p.reset ? ` sending start=${p.reset.index} snapshot ${p.reset.snapshotOffset}/${p.reset.snapshotSize}` : ''),
      );
    }
  }
}
