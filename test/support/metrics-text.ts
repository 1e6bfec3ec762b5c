/** Reading a server's Prometheus text in tests. */

/** The /metrics text of the server whose metrics listener is at `address`. */
export async function scrapeText(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  return res.text();
}

/** The value of the first sample of `name` whose label text includes every one of `labels`, or 0. */
export function metricSample(text: string, name: string, ...labels: string[]): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
