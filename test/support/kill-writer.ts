import { spawn } from 'node:child_process';

/**
 * Runs a writer fixture (`node script ...args`) that prints `word value` lines, hands each
 * line to `onLine`, and SIGKILLs it `waitMs` after it printed `opened` (or after 20 s at the
 * latest). Resolves once it died by that SIGKILL; rejects (naming `name`) if it exited
 * otherwise.
 */
export function runAndKillWriter(name: string, script: string, args: readonly string[], waitMs: number, onLine: (word: string | undefined, value: string | undefined) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const [word, value] = buffered.slice(0, nl).split(' ');
        buffered = buffered.slice(nl + 1);
        onLine(word, value);
        if (word === 'opened') timer = setTimeout(() => child.kill('SIGKILL'), waitMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`${name} exited with ${code}/${signal}: ${stderr}`));
      else resolve();
    });
  });
}
