// The floor of a replicated append on this machine: the message pattern of one raftledger
// append with no storage, no Raft and no encoding work. Four processes on loopback TCP:
// a client keeps C requests of V bytes in flight to a "leader", which forwards each to two
// "followers"; a follower answers every request with an 8-byte ack; the leader answers
// the client when the first ack of a request arrives (a quorum of 2 of 3). Every process
// writes at most once per socket per event-loop turn (as raftledger's send queues do) and
// parses length-prefixed frames. What this measures is what the processes, the kernel's
// loopback and the scheduler cost on this machine, which no change to raftledger can go
// below: the C = 1 p50 is the latency floor, the C = 128 rate the throughput ceiling of
// this topology in Node.
//
//   node bench/cluster/loopback-floor.mjs [--concurrency 1,128] [--size 1024] [--duration 5] [--json]
//
// Every address is 127.0.0.1; every child is killed on exit; each cell is bounded by
// --duration and a watchdog.
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { percentile } from '../../dist/tools/cluster/load.js';

const USAGE = 'usage: node bench/cluster/loopback-floor.mjs [--concurrency 1,128] [--size 1024] [--duration 5] [--json]';
const self = fileURLToPath(import.meta.url);

/** Length-prefixed frames (u32 length, then the body) out of a byte stream. */
function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      if (buf.length - off - 4 < len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  };
}

/** One write per turn per socket. */
function batchedWriter(socket) {
  let out = [];
  let scheduled = false;
  return (frame) => {
    out.push(frame);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const data = out.length === 1 ? out[0] : Buffer.concat(out);
      out = [];
      socket.write(data);
    });
  };
}

function frame(id, bodyBytes) {
  const f = Buffer.allocUnsafe(8 + bodyBytes);
  f.writeUInt32LE(4 + bodyBytes, 0);
  f.writeUInt32LE(id, 4);
  return f;
}

function listen(onSocket) {
  return new Promise((resolve) => {
    const server = net.createServer({ noDelay: true }, onSocket);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

async function follower() {
  const server = await listen((socket) => {
    const write = batchedWriter(socket);
    socket.on('data', frameReader((body) => write(frame(body.readUInt32LE(0), 0))));
    socket.on('error', () => {});
  });
  process.send({ port: server.address().port });
}

async function leader(followerPorts) {
  const acked = new Set();
  let client = null;
  const followers = await Promise.all(followerPorts.map(connect));
  for (const f of followers) {
    f.on('data', frameReader((body) => {
      const id = body.readUInt32LE(0);
      if (acked.has(id)) {
        acked.delete(id);
        return;
      }
      acked.add(id);
      client?.(frame(id, 0));
    }));
    f.on('error', () => {});
  }
  const sends = followers.map(batchedWriter);
  const server = await listen((socket) => {
    client = batchedWriter(socket);
    socket.on('data', frameReader((body) => {
      const copy = Buffer.allocUnsafe(4 + body.length);
      copy.writeUInt32LE(body.length, 0);
      body.copy(copy, 4);
      for (const send of sends) send(copy);
    }));
    socket.on('error', () => {});
  });
  process.send({ port: server.address().port });
}

async function clientCell(port, concurrency, sizeBytes, durationMs) {
  const socket = await connect(port);
  const write = batchedWriter(socket);
  const started = new Map();
  const latencies = [];
  let nextId = 0;
  let measuring = false;
  let done = false;
  const send = () => {
    const id = nextId++ >>> 0;
    const f = frame(id, sizeBytes);
    started.set(id, performance.now());
    write(f);
  };
  return new Promise((resolve) => {
    let t0 = 0;
    socket.on('data', frameReader((body) => {
      const id = body.readUInt32LE(0);
      const at = started.get(id);
      started.delete(id);
      if (measuring) latencies.push(performance.now() - at);
      if (!done) send();
    }));
    for (let i = 0; i < concurrency; i++) send();
    setTimeout(() => {
      measuring = true;
      t0 = performance.now();
    }, Math.min(1000, durationMs / 4));
    setTimeout(() => {
      done = true;
      measuring = false;
      const seconds = (performance.now() - t0) / 1000;
      socket.destroy();
      latencies.sort((a, b) => a - b);
      resolve({ concurrency, sizeBytes, opsPerSec: Math.round(latencies.length / seconds), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
    }, Math.min(1000, durationMs / 4) + durationMs);
  });
}

function parseArgs(argv) {
  const opts = { concurrency: '1,128', size: '1024', duration: '5', json: false };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (!argv[i].startsWith('--') || !(key in opts)) fail(`unknown argument ${argv[i]}`);
    if (key === 'json') opts.json = true;
    else if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
    else opts[key] = argv[++i];
  }
  const concurrency = opts.concurrency.split(',').map(Number);
  if (concurrency.some((c) => !Number.isInteger(c) || c < 1 || c > 4096)) fail(`--concurrency takes integers in 1..4096, got ${opts.concurrency}`);
  const sizeBytes = Number(opts.size);
  if (!Number.isInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > 1 << 20) fail(`--size must be an integer in 0..1048576, got ${opts.size}`);
  const durationS = Number(opts.duration);
  if (!Number.isFinite(durationS) || durationS <= 0 || durationS > 600) fail(`--duration must be in (0, 600] seconds, got ${opts.duration}`);
  return { concurrency, sizeBytes, durationMs: durationS * 1000, json: opts.json };
}

function fail(message) {
  console.error(`loopback-floor: ${message}\n${USAGE}`);
  process.exit(2);
}

function start(role, args = []) {
  const child = fork(self, ['--role', role, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code} before listening`)));
  });
}

async function main() {
  const roleAt = process.argv.indexOf('--role');
  if (roleAt >= 0) {
    const role = process.argv[roleAt + 1];
    process.on('disconnect', () => process.exit(0));
    if (role === 'follower') return follower();
    return leader(process.argv.slice(roleAt + 2).map(Number));
  }
  const { concurrency, sizeBytes, durationMs, json } = parseArgs(process.argv.slice(2));
  const children = [];
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const watchdog = setTimeout(() => {
    console.error('loopback-floor: watchdog fired');
    process.exit(1);
  }, concurrency.length * (durationMs + 20_000));
  const results = [];
  for (const c of concurrency) {
    const f1 = await start('follower');
    const f2 = await start('follower');
    children.push(f1.child, f2.child);
    const l = await start('leader', [String(f1.port), String(f2.port)]);
    children.push(l.child);
    const r = await clientCell(l.port, c, sizeBytes, durationMs);
    results.push(r);
    if (!json) console.log(`loopback floor, 4 processes, ${sizeBytes} B, C=${c}: ${r.opsPerSec} ops/s, p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms`);
    killAll();
    children.length = 0;
  }
  clearTimeout(watchdog);
  if (json) console.log(JSON.stringify(results));
}

main().catch((error) => {
  console.error(`loopback-floor: ${error.message}`);
  process.exit(1);
});
