import { Server } from '../server/server.js';
import { ignoredConfigKeys, readConfigFile, validateConfig } from '../server/config.js';
import { intOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { createLogger } from '../server/logger.js';
import { missingHeapFlags } from '../tools/node-flags.js';
import { applyConfigFlags, configFlagOptions } from './config-flags.js';
import { fsyncJournal } from '../tools/check/disk.js';
import { DEFAULT_CLUSTER_ID } from '../replica/group-set.js';
import { joinPeers, type JoinSecurity } from './join.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'run one replica as a process (Raft port + client port)',
  usage: `
Usage: raftledger server --id ID --peers ID=HOST:PORT[/CLIENTPORT],... --dir DIR [options]
       raftledger server --id ID --listen HOST:PORT[/CLIENTPORT] --join CLIENT_ADDRS --dir DIR [options]
       raftledger server --config FILE.json

Runs one replica of every Raft group in DIR (group g lives in DIR/group-<g>). PORT is the
Raft port; the client port is PORT+100 unless given after a slash. Stops cleanly on
SIGTERM or SIGINT (flushes and closes the log). DIR is locked (DIR/LOCK) for the
server's life: a second server on it exits with ERR_DIR_LOCKED; each group directory
records its node, cluster and group, and is refused (ERR_FOREIGN_DIR) as any other.
An empty DIR with --peers bootstraps a new cluster: DIR/cluster-id gets the cluster uid,
derived from --cluster-id and the ids of the voters in --peers (the same on every member
started with the same voters); peers and clients of another uid are refused. Once stored
it wins over flags; --join stores the uid of the cluster joined.

Options:
  --id ID                 this server's id (one of the peers)
  --peers LIST            every replica: id=host:port[/clientPort], comma-separated
  --learners IDS          ids of --peers that start as learners: a server joining a running
                          cluster names itself, then \`raftledger members add\` adds it. Once a
                          group has a stored configuration (after a membership change) it
                          wins over --peers and --learners
  --preferred-leader ID|G=ID,...  the member each group's leadership moves back to once it is
                          healthy and caught up (one id for every group, or one per group)
  --join CLIENT_ADDRS     instead of --peers: ask the running cluster (client ports) for the
                          members of every group (--groups) and start as a learner with them
                          as peers, adopting the cluster's uid; then add this server
                          (raftledger members add ID=ADDR --learner). Uses --tls-* and the
                          client token like the server's own clients. A cluster of another
                          --cluster-id, or a DIR of another cluster, is refused at start
  --listen ADDR           with --join: this server's host:raftPort[/clientPort]
  --dir DIR               data directory
  --client-port P         this server's client port (overrides the one in --peers)
  --durability MODE       fsync (default: ack after a quorum fsynced) or memory
  --memory-flush-ms MS    memory mode: flush the logs to disk in the background every MS
                          (default 10); a quorum losing power can lose what is younger
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
  --app-snapshot-bytes N  TEST/DIAGNOSTIC: with each log start (catch-up beyond retention) the
                          leader streams a synthetic application snapshot of N bytes (the same
                          pseudo-random bytes on every replica); a follower installs it to
                          <group dir>/app-snapshot.bin (default 0: none)
  --snapshot-chunk-bytes N  bytes of application snapshot per log-start message, one in flight
                          per follower (default 1 MiB; 4096-4194304)
  --scrub-bytes-per-sec N re-verify the CRCs of every group's committed records in the
                          background at N bytes/s per group and repair damage found from
                          the peers (default 4194304, 4 MiB/s: low enough not to matter for
                          throughput; 0: off); progress and findings in status and /metrics
  --repair-timeout-ms MS  a replica whose log has damaged records at start-up repairs them
                          from its peers before it serves; it keeps asking unreachable peers
                          this long (default 30000), then refuses to start naming the indexes
  --cluster-id NAME       refuse peers of another cluster (default raftledger)
  --tick-ms MS            Raft tick (default 10)
  --heartbeat-ticks N     heartbeat interval in ticks (default 10)
  --election-ticks N      base election timeout in ticks (default 50; randomized up to 2x)
  --client-max-connections N      client connections per client port (default: a quarter of
                          ulimit -n, 64-4096); one more gets ERR_OVERLOADED and is closed
  --client-idle-timeout-ms MS     close a client connection idle this long (default 300000)
  --client-frame-timeout-ms MS    close a connection whose request frame is still incomplete
                          this long after its first byte (default 60000)
  --client-max-pending-frame-bytes B   bytes of one unfinished request frame per connection
                          (default one largest frame, 64 MiB + 1028)
  --client-max-pending-bytes-total B   bytes of unfinished request frames across a port
                          (default 256 MiB)
  --client-max-pending-handshakes N    connections per client port still in their TLS
                          handshake or awaiting their auth frame (default 256); one more is
                          closed on accept
  --tls-cert FILE         TLS on the Raft and client ports: this node's PEM certificate. Peers
                          use mutual TLS: a peer's certificate must be signed by --tls-ca and
                          name its node id (a SAN DNS or URI entry, or the CN, equal to the id)
  --tls-key FILE          the PEM private key of --tls-cert
  --tls-ca FILE           PEM CA certificate(s) that sign the peers' (and clients') certificates
  --client-auth MODE      none (default), tls (clients need a certificate signed by --tls-ca) or
                          token (clients send the bearer token of --client-token-file)
  --client-token-file F   file holding the client bearer token (whitespace around it ignored)
                          SIGHUP reloads the TLS files and the token file without a restart;
                          a failed reload keeps the old ones (both are logged)
  --config FILE           JSON object with the same settings under their config keys (id, peers,
                          dir, durability, clusterId, groups, workers, segmentSizeBytes, tickMs,
                          heartbeatTicks, electionTicks, client*, metricsAddress,
                          readyMaxLagEntries, logLevel: see the README, Configuration); flags
                          override it; an unknown key is an error
  --repair                LAST RESORT: a damaged log (ERR_LOG_CORRUPT) is truncated at the
                          first damaged entry and the rest re-fetched from the leader. Without
                          it damaged records are repaired in place from the peers (nothing is
                          cut) and a log no peer can repair refuses to start. The cut is safe
                          only while a majority of the other replicas hold every entry cut;
                          done on two replicas it can lose acknowledged entries
  --metrics ADDR          serve GET /metrics (Prometheus), /health/live and /health/ready on
                          HTTP at ADDR (host:port, e.g. 127.0.0.1:9100; off by default)
  --ready-max-lag N       /health/ready: most entries a follower may trail the leader's
                          commit index and still be ready (default 10000)
  --log-level LEVEL       trace, debug, info (default), warn, error or fatal. Logs are JSON
                          lines on stdout (human-readable when stdout is a TTY)
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
        ...configFlagOptions(),
        'client-port': { type: 'string' },
        config: { type: 'string' },
        'ready-line': { type: 'boolean' },
        repair: { type: 'boolean' },
        'fsync-journal': { type: 'string' },
        join: { type: 'string' },
        listen: { type: 'string' },
      },
      false,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const file: Record<string, unknown> = values.config !== undefined ? readConfigFile(String(values.config)) : {};
    const raw = applyConfigFlags(file, values);
    let joinedUid: string | undefined;
    if (values.join !== undefined) {
      if (raw.peers !== undefined || raw.learners !== undefined) throw new UsageError('--join takes the peers from the cluster: give --listen, not --peers or --learners');
      if (values.listen === undefined || raw.id === undefined) throw new UsageError('--join needs --id and --listen RAFT_ADDR[/CLIENT_PORT]');
      const servers = String(values.join).split(',').map((x) => x.trim()).filter((x) => x !== '');
      const groups = Number(raw.groups ?? 1);
      if (!Number.isSafeInteger(groups) || groups < 1) throw new UsageError('--groups must be a positive integer');
      const joined = await joinPeers(servers, { id: String(raw.id), listen: String(values.listen) }, String(raw.clusterId ?? DEFAULT_CLUSTER_ID), { groups, security: raw as JoinSecurity });
      joinedUid = joined.clusterUid;
      raw.peers = joined.peers;
      if (joined.learners.length > 0) raw.learners = joined.learners.join(',');
    } else if (values.listen !== undefined) throw new UsageError('--listen goes with --join');
    if (raw.id === undefined || raw.peers === undefined || raw.dir === undefined) {
      throw new UsageError('server needs --id, --peers and --dir (or --config)');
    }
    const config = validateConfig(raw);
    if (values['client-port'] !== undefined) {
      const port = intOption(values, 'client-port', 0, 1, 65535);
      const self = config.peers[config.id]!;
      self.client = `${self.raft.slice(0, self.raft.lastIndexOf(':'))}:${port}`;
    }
    // Logs go to stdout: a reader that went away (EPIPE) must not take the replica down.
    process.stdout.on('error', () => {});
    const logger = createLogger({ level: config.logLevel ?? 'info' });
    const repair = values.repair === true;
    const journal = values['fsync-journal'] !== undefined ? String(values['fsync-journal']) : undefined;
    if (journal !== undefined && config.workers > 0) throw new UsageError('--fsync-journal needs --workers 0 (the hook runs on the main thread)');
    const server = await Server.start(config, { logger, repair, ...(journal !== undefined ? { onFlushed: fsyncJournal(journal) } : {}), ...(joinedUid !== undefined ? { clusterUid: joinedUid } : {}) });
    const self = config.peers[config.id]!;
    const threads = config.workers > 0 ? `${config.workers} worker thread(s)` : 'the main thread';
    logger.info(
      { node: config.id, event: 'serving', groups: config.groups, workers: config.workers, dir: config.dir, raft: self.raft, client: self.client, durability: config.durability, ...(config.metricsAddress !== undefined ? { metrics: config.metricsAddress } : {}) },
      `serving ${config.groups} group(s) on ${threads} from ${config.dir}: raft ${self.raft}, clients ${self.client}, durability ${config.durability}`,
    );
    for (const { key, why } of ignoredConfigKeys(config)) {
      logger.warn({ node: config.id, event: 'config-ignored', key }, `config key ${key} has no effect: ${why}`);
    }
    const missing = missingHeapFlags(process.execArgv);
    if (missing.length > 0) {
      logger.warn(
        { node: config.id, event: 'heap-flags', missing },
        `node runs without ${missing.join(' ')}: under load a replica can spend a third of its time in mark-compacts (README, "Tuning: the heap flags"); the raftledger command passes them, 'node dist/cli/main.js' does not`,
      );
    }
    // The signal handlers go in before the ready line: a script that sends SIGTERM as soon
    // as it reads that line must get a clean shutdown, never the default action.
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ node: config.id, event: 'shutdown', signal }, `${signal}: shutting down`);
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        resolve();
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    // SIGHUP: reload certificates and token; a failed reload keeps the old ones and the process serves on.
    const onHup = (): void => {
      server.reloadTls().then(
        (reloaded) => logger.info({ node: config.id, event: 'tls-reload', ok: true }, reloaded ? 'SIGHUP: TLS material and token reloaded' : 'SIGHUP: no TLS or token configured, nothing to reload'),
        (error: unknown) => logger.error({ node: config.id, event: 'tls-reload', ok: false, err: (error as Error).message }, `SIGHUP: reload failed, keeping the old TLS material and token: ${(error as Error).message}`),
      );
    };
    process.on('SIGHUP', onHup);
    if (values['ready-line'] === true) process.stdout.write(`${JSON.stringify({ ready: true, id: config.id, raft: self.raft, client: self.client, pid: process.pid })}\n`);
    await stopped;
    process.off('SIGHUP', onHup);
    await server.close();
    return 0;
  },
};
