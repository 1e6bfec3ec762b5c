import { SegmentedLog, RecordType } from '../storage/index.js';
import { intOption, parse, UsageError, wantsHelp, type Command } from './args.js';
import { checkLogDir } from './log-dir.js';

const TYPE_NAMES: Record<number, string> = { [RecordType.Normal]: 'normal', [RecordType.Noop]: 'noop', [RecordType.Config]: 'config' };

export const dumpCommand: Command = {
  name: 'dump',
  summary: 'print entries as JSON lines',
  usage: `
Usage: raftledger dump <dir> [--from N] [--limit K] [--body base64|prefix|none] [--prefix-bytes B]

Prints one JSON object per entry: {"index","term","type","pos","size","body"}. Opens the
log read-only. Every entry is CRC-checked as it is read.

Options:
  --from N          first index to print (default: the first index)
  --limit K         print at most K entries (default: all)
  --body MODE       base64 (default), prefix (the first --prefix-bytes as text), none
  --prefix-bytes B  bytes shown with --body prefix (default 32)
  -h, --help        show this help
`,
  async run(argv) {
    if (wantsHelp(this, argv)) return 0;
    const { values, positionals } = parse(argv, {
      from: { type: 'string' },
      limit: { type: 'string' },
      body: { type: 'string' },
      'prefix-bytes': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('dump needs exactly one <dir>');
    const mode = values.body ?? 'base64';
    if (mode !== 'base64' && mode !== 'prefix' && mode !== 'none') throw new UsageError(`--body must be base64, prefix or none, got '${String(mode)}'`);
    const prefixBytes = intOption(values, 'prefix-bytes', 32, 0, 1 << 20);
    const log = await SegmentedLog.open({ dir: checkLogDir(positionals[0]!, 'dump'), readOnly: true });
    try {
      const from = intOption(values, 'from', log.firstIndex, 0);
      const limit = intOption(values, 'limit', Number.MAX_SAFE_INTEGER, 0);
      if (from > log.lastIndex || limit === 0) return 0;
      if (from < log.firstIndex) throw new UsageError(`--from ${from} is below the first index ${log.firstIndex}`);
      let printed = 0;
      let chunk: string[] = [];
      for (const entry of log.entries(from)) {
        if (printed >= limit) break;
        const line: Record<string, unknown> = {
          index: entry.index,
          term: entry.term,
          type: TYPE_NAMES[entry.type] ?? entry.type,
          pos: entry.pos,
          size: entry.data.byteLength,
        };
        if (mode === 'base64') line.body = entry.data.toString('base64');
        else if (mode === 'prefix') line.body = entry.data.subarray(0, prefixBytes).toString('utf8');
        chunk.push(JSON.stringify(line));
        printed++;
        if (chunk.length >= 1024) {
          if (!process.stdout.write(`${chunk.join('\n')}\n`)) await new Promise((r) => process.stdout.once('drain', r));
          chunk = [];
        }
      }
      if (chunk.length > 0) process.stdout.write(`${chunk.join('\n')}\n`);
    } finally {
      await log.close();
    }
    return 0;
  },
};
