import { isIPv4, isIPv6 } from 'node:net';

/**
 * The rate-limit key of a client address. IPv4 addresses (and IPv4-mapped IPv6 ones) count alone; IPv6 ones by
 * their /64, since one host usually holds a whole /64 and could otherwise take a fresh budget per address.
 * The peer address is used as it is: behind a reverse proxy every client shares the proxy's address (see README).
 */
export function clientAddressKey(address: string | undefined): string {
  if (!address) return 'ip:unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return `ip:${mapped}`;
  if (isIPv4(address)) return `ip:${address}`;
  if (!isIPv6(address)) return 'ip:unknown';
  return `ip6:${expandIPv6(address).slice(0, 4).join(':')}/64`;
}

/** The eight hextets of an IPv6 address, `::` expanded, lower case, no leading zeros (zone id dropped). */
export function expandIPv6(address: string): string[] {
  const [bare = ''] = address.toLowerCase().split('%');
  const [head = '', tail] = bare.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  // An embedded IPv4 tail (::1.2.3.4) is two hextets.
  const expandTail = (items: string[]) =>
    items.flatMap((item) => {
      if (!item.includes('.')) return [item];
      const [a = 0, b = 0, c = 0, d = 0] = item.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const left = expandTail(parts(head));
  const right = tail === undefined ? [] : expandTail(parts(tail));
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((h) => (parseInt(h, 16) || 0).toString(16));
}
