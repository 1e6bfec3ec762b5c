// Command-line options of the bench scripts that take `--name value` pairs only: --help or -h
// prints `help` and exits 0; an unknown name, a missing value or a bad number prints why
// (with `help`) and exits 2. Returns the arguments and readers of them.
export function benchArgs(help, names) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  const known = new Set(names);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || !known.has(argv[i].slice(2)) || argv[i + 1] === undefined) {
      process.stderr.write(`bad argument ${argv[i]}\n${help}\n`);
      process.exit(2);
    }
  }
  /** The value of --name as given, or `dflt`. */
  const arg = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  /** --name as a number of at least `min` (default `dflt`, a string as on the command line). */
  const num = (name, dflt, min) => {
    const v = Number(arg(name, dflt));
    if (!Number.isFinite(v) || v < min) {
      process.stderr.write(`--${name} must be a number >= ${min}\n`);
      process.exit(2);
    }
    return v;
  };
  return { argv, arg, num };
}
