/**
 * A local cluster of `raftledger server` processes on 127.0.0.1, for `cluster`, `demo`,
 * `bench` and the multi-process tests. Each server is a separate OS process with its own
 * data directory; this class starts them, waits until each reports ready, kills (any
 * signal), restarts, and stops them. It only ever signals the PIDs it started.
 *
 * Each server gets an IPC channel to this process and exits when it closes (src/cli/
 * parent-watch.ts), so the servers do not outlive this process however it ends, SIGKILL
 * included. LocalCluster.stopAll() stops every cluster of this process that is running
 * (for a command's SIGINT/SIGTERM handler).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RaftLedgerError } from '../../errors.js';
import { freeConsecutivePorts, reserveNodePorts } from './ports.js';
import { portSpans } from '../../host/placement.js';
import { HEAP_NODE_FLAGS } from '../node-flags.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** Names this process to the servers it starts, with their IPC channel (read by src/cli/parent-watch.ts). */
export const PARENT_PID_ENV = 'RAFTLEDGER_PARENT_PID';

/**
 * The node flags each server is started with: the heap flags (src/tools/node-flags.ts), then
 * RAFTLEDGER_SERVER_NODE_ARGS (extra flags, space-separated, e.g. --cpu-prof for profiling).
 */
export function serverNodeArgs(): string[] {
  return [...HEAP_NODE_FLAGS, ...(process.env.RAFTLEDGER_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')];
}
/** Start attempts with freshly picked ports when one was taken before its server listened (start()). */
const START_ATTEMPTS = 3;

export interface LocalClusterOptions {
  replicas: number;
  dir: string;
  durability?: 'fsync' | 'memory';
  /** First Raft port; 0 (default) picks free ports. Client ports are Raft ports + 100 unless picked. */
  basePort?: number;
  groups?: number;
  workers?: number;
  segmentSizeBytes?: number;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  /** Lines the servers print (JSON log lines on stdout, anything on stderr), with their id; not the ready line. */
  onLog?: (id: string, line: string) => void;
  /** How long to wait for a server to report ready (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * Route peer (Raft) traffic: called once per ordered pair at start() with the target's
   * real Raft address; returns the address `from` is told to dial for `to` (e.g. a
   * fault-injecting proxy, see src/check/proxy.ts). Default: the real address.
   */
  peerRoute?: (from: string, to: string, target: string) => Promise<string> | string;
  /** Extra arguments for every server (e.g. ['--repair']); per start: see startServer(). */
  serverArgs?: string[];
  /** Extra arguments for one server (e.g. its own --tls-cert), after serverArgs. */
  serverArgsFor?: (id: string) => string[];
  /** Extra environment for every server process. */
  env?: Record<string, string>;
  /** Give every server an HTTP endpoint (--metrics 127.0.0.1:<free port>) for /metrics and /health/*. */
  metrics?: boolean;
  /**
   * A server exited that this cluster did not stop (not through kill() or stop()): it
   * crashed, refused to start after a restart, or was killed from outside.
   */
  onExit?: (id: string, code: number | null, signal: NodeJS.Signals | null) => void;
}

/** A server of a LocalCluster could not be started: its one-line reason, for the CLI (exit 2). */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/** Whether `port` on `host` can be listened on now: undefined if so, else the error code. */
function probePort(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

/** The last non-empty line of a server's stderr: with the CLI's one-line errors, the reason. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '(no output)';
}

export interface ServerProcess {
  id: string;
  raft: string;
  client: string;
  dir: string;
  child: ChildProcess | undefined;
  pid: number | undefined;
  /** The --metrics address ('host:port') when LocalClusterOptions.metrics is set. */
  metrics?: string;
}

export class LocalCluster {
  readonly servers = new Map<string, ServerProcess>();
  readonly #options: LocalClusterOptions;
  #peersSpec = '';
  /** Per-server --peers spec when peerRoute is set. */
  readonly #routedSpecs = new Map<string, string>();
  #stopping: Promise<void> | undefined;
  /** Children this cluster is stopping or killing: their exit is not reported to onExit. */
  readonly #expectedExits = new WeakSet<ChildProcess>();
  static readonly #running = new Set<LocalCluster>();

  /** Stop every LocalCluster of this process that has started and not stopped. */
  static async stopAll(): Promise<void> {
    await Promise.all([...LocalCluster.#running].map((c) => c.stop()));
  }

  /** SIGKILL every server of every running LocalCluster of this process, without waiting. */
  static killAllNow(): void {
    for (const cluster of LocalCluster.#running) {
      for (const s of cluster.servers.values()) {
        if (s.child !== undefined && s.child.exitCode === null) {
          cluster.#expectedExits.add(s.child);
          s.child.kill('SIGKILL');
        }
      }
    }
  }

  constructor(options: LocalClusterOptions) {
    if (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas > 15) {
      throw new RangeError(`replicas must be an integer in [1, 15], got ${options.replicas}`);
    }
    this.#options = options;
  }

  get ids(): string[] {
    return [...this.servers.keys()];
  }

  /** Client endpoints ('host:port') of every server. */
  get clientAddresses(): string[] {
    return [...this.servers.values()].map((s) => s.client);
  }

  /**
   * Start every server. With ports picked here (no basePort) a port that another process took
   * between the pick and the server's listen (an outgoing connection's ephemeral port, say)
   * makes that server fail with EADDRINUSE: the attempt is undone and made again with new
   * ports, at most START_ATTEMPTS times in all.
   */
  async start(): Promise<void> {
    if (this.#stopping !== undefined) throw new Error('this LocalCluster was stopped');
    LocalCluster.#running.add(this);
    // Only a cluster whose directories start empty may start again: the first attempt's
    // servers wrote nothing anyone else has seen, and their directories are removed.
    const dirs = Array.from({ length: this.#options.replicas }, (_, i) => join(this.#options.dir, `n${i}`));
    const fresh = dirs.every((d) => !existsSync(d) || readdirSync(d).length === 0);
    for (let attempt = 1; ; attempt++) {
      const failure = await this.#startOnce();
      if (failure === undefined) return;
      const why = String((failure as Error)?.message ?? failure);
      const retry = fresh && (this.#options.basePort ?? 0) === 0 && attempt < START_ATTEMPTS && /EADDRINUSE/.test(why);
      if (!retry) {
        // All or nothing: the servers that did start would otherwise outlive a caller that only sees the rejection.
        await this.stop();
        throw failure;
      }
      await Promise.all(this.ids.map((id) => this.kill(id, 'SIGTERM')));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      this.#options.onLog?.('cluster', `a picked port was taken before its server listened (${why}); starting again with new ports (attempt ${attempt + 1} of ${START_ATTEMPTS})`);
    }
  }

  /** One start attempt; resolves with the first server's start failure, or undefined when all run. */
  async #startOnce(): Promise<unknown> {
    this.servers.clear();
    this.#routedSpecs.clear();
    const { replicas, basePort = 0 } = this.#options;
    const specs: string[] = [];
    // With workers W > 0 a server's worker w listens on its Raft port + w and serves clients
    // on its client port + 1 + w (placement.ts): W consecutive Raft ports, W + 1 client ports.
    const workers = this.#options.workers ?? 0;
    const { raft: span, client: clientSpan } = portSpans(workers, true);
    const ids = Array.from({ length: replicas }, (_, i) => `n${i}`);
    const free = basePort > 0 ? undefined : await reserveNodePorts(ids, workers);
    for (let i = 0; i < replicas; i++) {
      const id = ids[i]!;
      const raftPort = free?.[id]?.raftPort ?? basePort + i * span;
      const clientPort = free?.[id]?.clientPort ?? basePort + 100 + i * clientSpan;
      const raft = `127.0.0.1:${raftPort}`;
      const client = `127.0.0.1:${clientPort}`;
      const dir = join(this.#options.dir, id);
      mkdirSync(dir, { recursive: true });
      const server: ServerProcess = { id, raft, client, dir, child: undefined, pid: undefined };
      this.servers.set(id, server);
      specs.push(`${id}=${raft}/${clientPort}`);
    }
    this.#peersSpec = specs.join(',');
    if (basePort > 0) await this.#checkPortsFree(span, clientSpan);
    if (this.#options.metrics === true) {
      // Not one of the Raft or client ports just picked (free a moment ago, not yet bound).
      const taken = new Set<number>();
      for (const s of this.servers.values()) {
        const raftPort = Number(s.raft.slice(s.raft.lastIndexOf(':') + 1));
        const clientPort = Number(s.client.slice(s.client.lastIndexOf(':') + 1));
        for (let p = 0; p < span; p++) taken.add(raftPort + p);
        for (let p = 0; p < clientSpan; p++) taken.add(clientPort + p);
      }
      for (const s of this.servers.values()) {
        const port = await freeConsecutivePorts(1, '127.0.0.1', taken);
        taken.add(port);
        s.metrics = `127.0.0.1:${port}`;
      }
    }
    if (this.#options.peerRoute !== undefined) {
      // The servers' ports are reserved but not yet bound, so a route (a proxy listening on
      // an ephemeral port) can be handed one of them: ask again, a bounded number of times.
      const taken = new Set([...this.servers.values()].flatMap((s) => [s.raft, s.client, ...(s.metrics !== undefined ? [s.metrics] : [])]));
      const route = async (from: string, to: string, target: string): Promise<string> => {
        for (let attempt = 0; attempt < 20; attempt++) {
          const routed = await this.#options.peerRoute!(from, to, target);
          if (routed === target) return routed; // no proxy for this pair
          if (!taken.has(routed)) {
            taken.add(routed);
            return routed;
          }
        }
        throw new ServerStartError(`peerRoute kept answering addresses the servers' ports already hold (${from} -> ${to})`);
      };
      for (const from of this.ids) {
        const parts: string[] = [];
        for (const to of this.servers.values()) {
          const port = to.client.slice(to.client.lastIndexOf(':') + 1);
          const raft = to.id === from ? to.raft : await route(from, to.id, to.raft);
          parts.push(`${to.id}=${raft}/${port}`);
        }
        this.#routedSpecs.set(from, parts.join(','));
      }
    }
    const started = await Promise.allSettled(this.ids.map((id) => this.startServer(id)));
    return started.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  }

  /** With a fixed --base-port: every port the servers will listen on must be free (ERR_IO naming the first that is not). */
  async #checkPortsFree(raftSpan: number, clientSpan: number): Promise<void> {
    for (const s of this.servers.values()) {
      for (const [what, address, span] of [['raft', s.raft, raftSpan], ['client', s.client, clientSpan]] as const) {
        const colon = address.lastIndexOf(':');
        const host = address.slice(0, colon);
        const first = Number(address.slice(colon + 1));
        for (let port = first; port < first + span; port++) {
          if (port > 65535) throw new RaftLedgerError('ERR_IO', `${s.id}'s ${what} port ${port} is out of range (base port too high)`);
          const code = await probePort(host, port);
          if (code !== undefined) {
            const reason = code === 'EADDRINUSE' ? 'is already in use' : `cannot be listened on (${code})`;
            throw new RaftLedgerError('ERR_IO', `${s.id}'s ${what} port ${host}:${port} ${reason}; pick another base port or stop what listens there`);
          }
        }
      }
    }
  }

  /** Start (or restart) one server and wait until it listens. */
  async startServer(id: string, extraArgs: string[] = []): Promise<void> {
    const server = this.servers.get(id);
    if (server === undefined) throw new RangeError(`unknown server ${id}`);
    if (this.#stopping !== undefined) throw new Error(`cannot start server ${id}: the cluster is stopping`);
    if (server.child !== undefined) throw new Error(`server ${id} is already running`);
    const o = this.#options;
    const peers = this.#routedSpecs.get(id) ?? this.#peersSpec;
    const args = [MAIN, 'server', '--id', id, '--peers', peers, '--dir', server.dir, '--durability', o.durability ?? 'fsync', '--ready-line', ...(o.serverArgs ?? []), ...(o.serverArgsFor?.(id) ?? []), ...extraArgs];
    if (o.groups !== undefined) args.push('--groups', String(o.groups));
    if (o.workers !== undefined) args.push('--workers', String(o.workers));
    if (o.segmentSizeBytes !== undefined) args.push('--segment-size', String(o.segmentSizeBytes));
    if (o.tickMs !== undefined) args.push('--tick-ms', String(o.tickMs));
    if (o.heartbeatTicks !== undefined) args.push('--heartbeat-ticks', String(o.heartbeatTicks));
    if (o.electionTicks !== undefined) args.push('--election-ticks', String(o.electionTicks));
    if (server.metrics !== undefined) args.push('--metrics', server.metrics);
    const nodeArgs = serverNodeArgs();
    // The 'ipc' channel and PARENT_PID_ENV: the server exits when this process does, even
    // if that is before the server is up (src/cli/parent-watch.ts).
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...o.env, [PARENT_PID_ENV]: String(process.pid) },
    });
    server.child = child;
    server.pid = child.pid;
    child.stderr!.setEncoding('utf8');
    let errText = '';
    child.stderr!.on('data', (chunk: string) => {
      errText = (errText + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line !== '') o.onLog?.(id, line);
    });
    child.on('error', () => {}); // a failed spawn also emits 'exit'
    // The channel carries nothing; it only closes when this process ends.
    child.channel?.unref();
    let ready = false;
    child.on('exit', (code, signal) => {
      if (server.child === child) {
        server.child = undefined;
        server.pid = undefined;
      }
      if (ready && !this.#expectedExits.has(child)) o.onExit?.(id, code, signal);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        this.#expectedExits.add(child);
        child.kill('SIGKILL');
        reject(new ServerStartError(`server ${id} did not become ready within ${o.readyTimeoutMs ?? 20_000} ms: ${lastLine(errText)}`));
      }, o.readyTimeoutMs ?? 20_000);
      // stdout: JSON log lines (to onLog) and, once, the --ready-line line {"ready":true,...}.
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        const lines = out.split('\n');
        out = lines.pop()!.slice(-1_000_000);
        for (const line of lines) {
          if (line === '') continue;
          if (!ready && line.startsWith('{"ready":true')) {
            ready = true;
            clearTimeout(timer);
            resolve();
          } else {
            o.onLog?.(id, line);
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) reject(new ServerStartError(`server ${id} exited (${code ?? signal}) before it was ready: ${lastLine(errText)}`));
      });
    });
  }

  /**
   * Start one more server, `id`, on free ports with an empty directory: its --peers are the
   * cluster's plus itself and it starts as a learner (--learners id), so it takes no part
   * until a member adds it (raftledger members add). Resolves with its process entry.
   */
  async addServer(id: string, extraArgs: string[] = []): Promise<ServerProcess> {
    if (this.servers.has(id)) throw new RangeError(`server ${id} exists`);
    if (this.#options.peerRoute !== undefined) throw new RangeError('addServer does not route peer traffic (peerRoute)');
    const free = await reserveNodePorts([id], this.#options.workers ?? 0);
    const { raftPort, clientPort } = free[id]!;
    const dir = join(this.#options.dir, id);
    mkdirSync(dir, { recursive: true });
    const server: ServerProcess = { id, raft: `127.0.0.1:${raftPort}`, client: `127.0.0.1:${clientPort}`, dir, child: undefined, pid: undefined };
    this.servers.set(id, server);
    this.#routedSpecs.set(id, `${this.#peersSpec},${id}=${server.raft}/${clientPort}`);
    await this.startServer(id, ['--learners', id, ...extraArgs]);
    return server;
  }

  /** Send a signal to one server; SIGKILL/SIGTERM wait for it to exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const server = this.servers.get(id);
    const child = server?.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') this.#expectedExits.add(child);
    child.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') {
      // A SIGSTOPped server (torture's pause) acts on SIGTERM only once continued.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  isRunning(id: string): boolean {
    return this.servers.get(id)?.child !== undefined;
  }

  /**
   * Stop every server (SIGTERM, then SIGKILL after a grace period); no server starts after
   * this. Idempotent: every call returns the same promise, settled once all have exited.
   */
  stop(): Promise<void> {
    this.#stopping ??= Promise.all(this.ids.map((id) => this.kill(id, 'SIGTERM'))).then(() => {
      LocalCluster.#running.delete(this);
    });
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
