import { verifyLog } from '../storage/index.js';
import { formatBytes, parse, UsageError, wantsHelp, type Command } from './args.js';
import { checkLogDir } from './log-dir.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'full structural and CRC check of a log; exit 0 only when clean',
  usage: `
Usage: raftledger verify <dir> [--json] [--quiet]

Reads every segment of the log in <dir> (read-only), checks every record's structure
and CRC32C, index continuity, every index slot against the data, and the hard state and
checkpoint files, and that nothing is missing: segment files in the middle or at either
end, entries below the hard state's commit index or the checkpoint, or the hard state
itself while the log holds entries (docs/FORMAT.md, "What recovery checks"). Prints every
damaged or missing location (file and byte offset).

Exit codes: 0 clean, 1 damage found, 2 usage error or not a log.

Options:
  --json      print one JSON report
  --quiet     no progress output
  -h, --help  show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, quiet: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('verify needs exactly one <dir>');
    const progress = values.quiet !== true && values.json !== true && process.stderr.isTTY;
    const report = await verifyLog(checkLogDir(positionals[0]!, 'verify'), {
      onProgress: progress
        ? (p) => process.stderr.write(`\rverify: segment ${p.segment}/${p.segments}, ${formatBytes(p.scannedBytes)}   `)
        : undefined,
    });
    if (progress) process.stderr.write('\n');
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const rate = report.seconds > 0 ? report.scannedBytes / report.seconds / 1e9 : 0;
      process.stdout.write(
        `${report.clean ? 'clean' : 'DAMAGED'}: ${report.records} records (index ${report.firstIndex}..${report.lastIndex}, last term ${report.lastTerm}) in ${report.segments} segments, ${formatBytes(report.scannedBytes)} checked in ${report.seconds.toFixed(3)} s (${rate.toFixed(2)} GB/s)\n`,
      );
      for (const d of report.damage) {
        process.stdout.write(`  ${d.kind}: ${d.path} at offset ${d.offset}${d.index !== undefined ? ` (index ${d.index})` : ''}: ${d.reason}\n`);
      }
    }
    return report.clean ? 0 : 1;
  },
};
