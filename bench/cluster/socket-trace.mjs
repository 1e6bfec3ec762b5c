// Node preload (--import) for latency-stages.mjs: stamps every net.Socket write and 'data'
// event of this process with CLOCK_MONOTONIC ns (start and end of the call) and appends them
// to $RAFTLEDGER_SOCKET_TRACE_DIR/<name>.txt, <name> being the server's --id or "client".
// Line format: `<startNs> <endNs> <r|w> <localPort>><remotePort> <bytes>`
// (src/tools/cluster/latency-stages.ts reads it). Buffered; written every 500 ms and at exit.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const dir = process.env.RAFTLEDGER_SOCKET_TRACE_DIR;
if (dir !== undefined && dir !== '') {
  const argv = process.argv;
  const name = argv.includes('server') && argv.includes('--id') ? argv[argv.indexOf('--id') + 1] : 'client';
  let lines = [];
  const now = () => process.hrtime.bigint();
  const ports = (s) => `${s.localPort}>${s.remotePort}`;
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (chunk, ...rest) {
    const t = now();
    const r = write.call(this, chunk, ...rest);
    lines.push(`${t} ${now()} w ${ports(this)} ${chunk?.length ?? 0}`);
    return r;
  };
  const emit = net.Socket.prototype.emit;
  net.Socket.prototype.emit = function (event, ...args) {
    if (event !== 'data') return emit.call(this, event, ...args);
    const t = now();
    const r = emit.call(this, event, ...args);
    lines.push(`${t} ${now()} r ${ports(this)} ${args[0]?.length ?? 0}`);
    return r;
  };
  const flush = () => {
    if (lines.length === 0) return;
    appendFileSync(`${dir}/${name}.txt`, `${lines.join('\n')}\n`);
    lines = [];
  };
  setInterval(flush, 500).unref();
  process.on('exit', flush);
}
