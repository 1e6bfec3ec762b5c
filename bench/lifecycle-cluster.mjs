// Shared by bench/lifecycle-catchup.mjs and bench/lifecycle-throughput.mjs: three Ledgers in
// one process joined by an in-process link that passes every message through the wire codec
// (so what arrives is what a socket would deliver) and counts the frame bytes per sender ->
// receiver. Not a benchmark itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../dist/replica/ledger.js';
import { decodeRaftMessage, encodeRaftMessage } from '../dist/transport/raft-codec.js';
import { FRAME_HEADER_BYTES } from '../dist/transport/frame.js';

export const IDS = ['a', 'b', 'c'];

/** `--name value` flags with defaults; sizes take k/m/g. `--help` prints `usage` and exits. */
export function flags(usage, defaults) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    if (name === undefined || !(name in defaults)) throw new Error(`unknown flag ${argv[i]} (see --help)`);
    const raw = argv[i + 1];
    if (raw === undefined) throw new Error(`--${name} needs a value`);
    out[name] = typeof defaults[name] === 'number' ? parseSize(raw) : raw;
  }
  return out;
}

export function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)(i?b?)?$/i.exec(s);
  if (m === null) throw new Error(`not a number or size: ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}

export class BenchCluster {
  nodes = new Map();
  /** Frame bytes sent, by `${from}>${to}`. */
  bytes = new Map();
  logs = [];
  #options;

  constructor(options) {
    this.root = mkdtempSync(join(options.dir ?? tmpdir(), 'raftledger-bench-lifecycle-'));
    this.#options = options;
  }

  dirOf(id) {
    return join(this.root, id);
  }

  #deliver(message) {
    const frame = encodeRaftMessage(0, message);
    const key = `${message.from}>${message.to}`;
    this.bytes.set(key, (this.bytes.get(key) ?? 0) + frame.byteLength);
    setImmediate(() => {
      const target = this.nodes.get(message.to);
      if (target === undefined || target.closed) return;
      target.receive(decodeRaftMessage(Buffer.from(frame.subarray(FRAME_HEADER_BYTES))).message);
    });
  }

  async start(id, extra = {}) {
    const ledger = await Ledger.open({
      dir: this.dirOf(id),
      id,
      members: IDS,
      link: { send: (m) => this.#deliver(m) },
      tickMs: 5,
      heartbeatTicks: 4,
      electionTicks: 40,
      onLog: (line) => {
        this.logs.push(line);
        if (this.logs.length > 500) this.logs.splice(0, 250);
      },
      ...this.#options.ledger,
      ...extra,
    });
    this.nodes.set(id, ledger);
    return ledger;
  }

  async stop(id) {
    const n = this.nodes.get(id);
    this.nodes.delete(id);
    await n?.close();
  }

  async leader(timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const l = [...this.nodes.values()].filter((n) => !n.closed && n.role === 'leader').sort((x, y) => y.term - x.term)[0];
      if (l !== undefined) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no leader within ${timeoutMs} ms\n${this.logs.slice(-10).join('\n')}`);
  }

  /** Appends `totalBytes` in entries of `entryBytes`, `concurrency` batches in flight; returns { lastIndex, seconds }. */
  async appendBytes(totalBytes, entryBytes, concurrency, batch = 16) {
    const payload = Buffer.alloc(entryBytes, 0x61);
    const count = Math.ceil(totalBytes / entryBytes);
    let next = 0;
    let last = 0;
    const t0 = process.hrtime.bigint();
    const worker = async () => {
      while (next < count) {
        const n = Math.min(batch, count - next);
        next += n;
        const leader = await this.leader();
        try {
          const acks = await leader.append(Array.from({ length: n }, () => payload));
          for (const a of acks) last = Math.max(last, a.index);
        } catch (error) {
          if (error?.retriable !== true && error?.code !== 'ERR_NOT_LEADER') throw error;
          next -= n;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { lastIndex: last, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }

  async close() {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}
