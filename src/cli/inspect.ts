import { SegmentedLog } from '../storage/index.js';
import { formatBytes, parse, UsageError, wantsHelp, type Command } from './args.js';
import { checkLogDir } from './log-dir.js';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show segments, first/last index and term, sizes and the flushed position of a log',
  usage: `
Usage: raftledger inspect <dir> [--json]

Opens the log in <dir> read-only (recovery runs in memory; nothing is written) and prints
its segments, first and last index and term, bytes used, the durable position and the
hard state (term, vote, commit index).

Options:
  --json      print one JSON object instead of text
  -h, --help  show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('inspect needs exactly one <dir>');
    const log = await SegmentedLog.open({ dir: checkLogDir(positionals[0]!, 'inspect'), readOnly: true });
    try {
      const info = {
        dir: log.dir,
        segmentSizeBytes: log.segmentSizeBytes,
        segments: log.segments().map((s) => ({ file: s.path, base: s.base })),
        firstIndex: log.firstIndex,
        lastIndex: log.lastIndex,
        lastTerm: log.lastTerm,
        entries: Math.max(0, log.lastIndex - log.firstIndex + 1),
        sizeBytes: log.sizeBytes,
        writePos: log.writePos,
        flushedIndex: log.flushedIndex,
        hardState: log.hardState,
        recovery: log.recovery,
      };
      if (values.json === true) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
      } else {
        const lines = [
          `log         ${info.dir}`,
          `segments    ${info.segments.length} x ${formatBytes(info.segmentSizeBytes)}`,
          ...info.segments.map((s) => `  ${s.file}`),
          `entries     ${info.entries} (index ${info.firstIndex}..${info.lastIndex}, last term ${info.lastTerm})`,
          `size        ${formatBytes(info.sizeBytes)} (write position ${info.writePos})`,
          `flushed     index ${info.flushedIndex}`,
          `hard state  term ${info.hardState.term}, voted for ${info.hardState.votedFor || '(none)'}, commit ${info.hardState.commitIndex}`,
          `recovery    scanned ${info.recovery.scannedRecords} records from pos ${info.recovery.scanFromPos}${info.recovery.usedCheckpoint ? ' (checkpoint)' : ''}${
            info.recovery.truncatedAtPos !== undefined ? `; a torn tail at pos ${info.recovery.truncatedAtPos} would be truncated on open (${info.recovery.truncatedReason})` : ''
          }`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
    } finally {
      await log.close();
    }
    return 0;
  },
};
