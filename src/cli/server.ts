import { Server } from '../server/server.js';
import { parsePeers, readConfigFile, validateConfig } from '../server/config.js';
import { intOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { fsyncJournal } from '../tools/check/disk.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'run one replica as a process (Raft port + client port)',
  usage: `
Usage: raftledger server --id ID --peers ID=HOST:PORT[/CLIENTPORT],... --dir DIR [options]
       raftledger server --config FILE.json

Runs one replica of every Raft group in DIR (group g lives in DIR/group-<g>). PORT is the
Raft port; the client port is PORT+100 unless given after a slash. Stops cleanly on
SIGTERM or SIGINT (flushes and closes the log). DIR is locked (DIR/LOCK) for the
server's life: a second server on it exits with ERR_DIR_LOCKED; each group directory
records its node, cluster and group, and is refused (ERR_FOREIGN_DIR) as any other.

Options:
  --id ID                 this server's id (one of the peers)
  --peers LIST            every replica: id=host:port[/clientPort], comma-separated
  --dir DIR               data directory
  --client-port P         this server's client port (overrides the one in --peers)
  --durability MODE       fsync (default: ack after a quorum fsynced) or memory
  --groups G              Raft groups hosted (default 1)
  --workers N             worker threads for the groups (default 0: all on the main thread).
                          With N > 0 group g runs on worker g mod N, worker w uses Raft port
                          PORT+w and serves clients of its groups on client port CPORT+1+w
                          (the client port itself answers status and sends appends and reads
                          there: ERR_MOVED); PORT..PORT+N-1 and CPORT..CPORT+N must be free,
                          no two replicas on one host may overlap, and every replica must use
                          the same N
  --segment-size BYTES    segment size of new logs (default 64m; must match on all replicas)
  --retention-bytes N     delete the oldest segments of each group's log while it is larger than
                          N bytes (whole segments, only below the commit index)
  --retention-ms N        delete segments whose newest entry is older than N ms
  --retention-min-entries N  always keep at least the newest N entries
  --retention-hold-ms N   the leader keeps what a follower active within N ms still needs
                          (default 60000; 0: no hold)
  --min-free-bytes N      refuse appends (ERR_NO_SPACE, retriable) while the data filesystem
                          has fewer than N bytes free; a leader hands leadership away (default
                          2 x segment size + 64 MiB; 0: never refuse)
  --cluster-id NAME       refuse peers of another cluster (default raftledger)
  --tick-ms MS            Raft tick (default 10)
  --heartbeat-ticks N     heartbeat interval in ticks (default 10)
  --election-ticks N      base election timeout in ticks (default 50; randomized up to 2x)
  --config FILE           JSON with the same fields (id, peers, dir, durability, groups, ...)
  --repair                a damaged log (ERR_LOG_CORRUPT) is truncated at the first damaged
                          entry and the rest re-fetched from the leader; without it the
                          server refuses to start with a damaged log
  --ready-line            print {"ready":true,...} on stdout once serving (for scripts)
  --fsync-journal FILE    TEST-ONLY (fault injection): append '<group dir> TAB <flushedPos>' to
                          FILE after every successful flush, so that \`raftledger torture\` can
                          simulate a power loss; needs --workers 0
  -h, --help              show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(
      argv,
      {
        id: { type: 'string' },
        peers: { type: 'string' },
        dir: { type: 'string' },
        'client-port': { type: 'string' },
        durability: { type: 'string' },
        groups: { type: 'string' },
        workers: { type: 'string' },
        'segment-size': { type: 'string' },
        'retention-bytes': { type: 'string' },
        'retention-ms': { type: 'string' },
        'retention-min-entries': { type: 'string' },
        'retention-hold-ms': { type: 'string' },
        'min-free-bytes': { type: 'string' },
        'cluster-id': { type: 'string' },
        'tick-ms': { type: 'string' },
        'heartbeat-ticks': { type: 'string' },
        'election-ticks': { type: 'string' },
        config: { type: 'string' },
        'ready-line': { type: 'boolean' },
        repair: { type: 'boolean' },
        'fsync-journal': { type: 'string' },
      },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const raw: Record<string, unknown> = values.config !== undefined ? readConfigFile(String(values.config)) : {};
    if (values.id !== undefined) raw.id = values.id;
    if (values.dir !== undefined) raw.dir = values.dir;
    if (values.peers !== undefined) raw.peers = parsePeers(String(values.peers));
    if (values.durability !== undefined) raw.durability = values.durability;
    if (values['cluster-id'] !== undefined) raw.clusterId = values['cluster-id'];
    if (values.groups !== undefined) raw.groups = intOption(values, 'groups', 1, 1);
    if (values.workers !== undefined) raw.workers = intOption(values, 'workers', 0, 0);
    if (values['segment-size'] !== undefined) raw.segmentSizeBytes = intOption(values, 'segment-size', 0, 4096);
    const retentionFlags = { maxBytes: 'retention-bytes', maxAgeMs: 'retention-ms', minEntries: 'retention-min-entries', holdForFollowersMs: 'retention-hold-ms' } as const;
    for (const [key, flag] of Object.entries(retentionFlags)) {
      if (values[flag] === undefined) continue;
      raw.retention = { ...(raw.retention as Record<string, unknown> | undefined), [key]: intOption(values, flag, 0, 0) };
    }
    if (values['min-free-bytes'] !== undefined) raw.minFreeBytes = intOption(values, 'min-free-bytes', 0, 0);
    if (values['tick-ms'] !== undefined) raw.tickMs = intOption(values, 'tick-ms', 10, 1);
    if (values['heartbeat-ticks'] !== undefined) raw.heartbeatTicks = intOption(values, 'heartbeat-ticks', 10, 1);
    if (values['election-ticks'] !== undefined) raw.electionTicks = intOption(values, 'election-ticks', 50, 2);
    if (raw.id === undefined || raw.peers === undefined || raw.dir === undefined) {
      throw new UsageError('server needs --id, --peers and --dir (or --config)');
    }
    const config = validateConfig(raw);
    if (values['client-port'] !== undefined) {
      const port = intOption(values, 'client-port', 0, 1, 65535);
      const self = config.peers[config.id]!;
      self.client = `${self.raft.slice(0, self.raft.lastIndexOf(':'))}:${port}`;
    }
    const log = (line: string): void => {
      process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    };
    const repair = values.repair === true;
    const journal = values['fsync-journal'] !== undefined ? String(values['fsync-journal']) : undefined;
    if (journal !== undefined && config.workers > 0) throw new UsageError('--fsync-journal needs --workers 0 (the hook runs on the main thread)');
    const server = await Server.start(config, { log, repair, ...(journal !== undefined ? { onFlushed: fsyncJournal(journal) } : {}) });
    const self = config.peers[config.id]!;
    const threads = config.workers > 0 ? `${config.workers} worker thread(s)` : 'the main thread';
    log(`[${config.id}] serving ${config.groups} group(s) on ${threads} from ${config.dir}: raft ${self.raft}, clients ${self.client}, durability ${config.durability}`);
    if (values['ready-line'] === true) process.stdout.write(`${JSON.stringify({ ready: true, id: config.id, raft: self.raft, client: self.client, pid: process.pid })}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        log(`[${config.id}] ${signal}: shutting down`);
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        resolve();
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    await server.close();
    return 0;
  },
};
