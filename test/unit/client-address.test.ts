import { describe, expect, it } from 'vitest';
import { clientAddressKey, expandIPv6 } from '../../src/http/client-address.ts';

describe('clientAddressKey (the rate-limit key of an unauthenticated client)', () => {
  it('keys IPv4 by the address, including IPv4-mapped IPv6', () => {
    expect(clientAddressKey('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(clientAddressKey('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
    expect(clientAddressKey('::FFFF:127.0.0.1')).toBe('ip:127.0.0.1');
  });

  it('keys IPv6 by its /64, however the address is written', () => {
    const key = '2001:db8:85a3:0/64';
    expect(clientAddressKey('2001:db8:85a3::1')).toBe(`ip6:${key}`);
    expect(clientAddressKey('2001:0DB8:85A3:0000:ffff:ffff:ffff:ffff')).toBe(`ip6:${key}`);
    expect(clientAddressKey('2001:db8:85a3:0:1234::5%eth0')).toBe(`ip6:${key}`);
    expect(clientAddressKey('2001:db8:85a3:1::1')).not.toBe(`ip6:${key}`);
    expect(clientAddressKey('::1')).toBe('ip6:0:0:0:0/64');
  });

  it('puts anything unreadable in one shared bucket, never a key of its own', () => {
    for (const bad of [undefined, '', 'not-an-ip', '1.2.3.4.5', ':::', 'x'.repeat(10_000)]) {
      expect(clientAddressKey(bad)).toBe('ip:unknown');
    }
  });

  it('expands IPv6 with an embedded IPv4 tail', () => {
    expect(expandIPv6('64:ff9b::192.0.2.33')).toEqual(['64', 'ff9b', '0', '0', '0', '0', 'c000', '221']);
    expect(expandIPv6('1:2:3:4:5:6:7:8')).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  });
});
