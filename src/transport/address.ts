/** 'host:port' peer addresses ('[v6]:port' for IPv6). */

export interface HostPort {
  host: string;
  port: number;
}

/** Parse 'host:port'; a malformed address is a TypeError (configuration misuse). */
export function parseHostPort(address: string): HostPort {
  if (typeof address !== 'string') throw new TypeError('address must be a string');
  const colon = address.lastIndexOf(':');
  if (colon <= 0) throw new TypeError(`address "${address}" is not host:port`);
  let host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw new TypeError(`address "${address}": write IPv6 hosts as [host]:port`);
  if (!/^\d{1,5}$/.test(portText)) throw new TypeError(`address "${address}" has no valid port`);
  const port = Number(portText);
  if (host === '' || port < 1 || port > 65535) throw new TypeError(`address "${address}" is not host:port`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
