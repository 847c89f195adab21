import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** What the service resolves a webhook host with; injected (createApp overrides) so DNS answers can be chosen. */
export type HostResolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: HostResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** Loopback, private, link-local, carrier-grade NAT, metadata, multicast and reserved ranges. */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** IPv4 inside IPv6 (::ffff:a.b.c.d, and NAT64 64:ff9b::/96) is judged as the IPv4 address it carries. */
function embeddedIpv4(address: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [a, b] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

export function isForbiddenAddress(address: string): boolean {
  const v4 = isIP(address) === 6 ? embeddedIpv4(address) : undefined;
  if (v4) return FORBIDDEN.check(v4, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type AddressVerdict = { ok: true; address: string; family: number } | { ok: false; reason: string };

/**
 * Where a webhook URL may be sent: its host resolved now, every address allowed (unless private addresses are,
 * by WEBHOOK_ALLOW_PRIVATE). The caller connects to the address returned, not to a second lookup, so a DNS
 * answer that changes between the check and the connection cannot redirect the request.
 */
export async function resolveAllowed(url: URL, resolver: HostResolver, allowPrivate: boolean): Promise<AddressVerdict> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolver(host);
  } catch {
    return { ok: false, reason: 'the host does not resolve' };
  }
  if (addresses.length === 0) return { ok: false, reason: 'the host does not resolve' };
  if (!allowPrivate && addresses.some((a) => isForbiddenAddress(a.address))) {
    return { ok: false, reason: 'the host resolves to a loopback, private, link-local or metadata address' };
  }
  return { ok: true, address: addresses[0]!.address, family: addresses[0]!.family };
}
