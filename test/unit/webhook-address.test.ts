import { describe, expect, it } from 'vitest';
import { isForbiddenAddress, resolveAllowed } from '../../src/modules/webhooks/webhook-address.ts';
import { signPayload, generateSecret } from '../../src/modules/webhooks/webhook-signing.ts';
import { Webhook } from 'standardwebhooks';

describe('webhook addresses', () => {
  it('refuses loopback, private, link-local, CGNAT, metadata, multicast and mapped forms; allows public ones', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.100.100.200', '0.0.0.0',
      '224.0.0.1', '::1', '::', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a00:1', 'not-an-ip']) {
      expect(isForbiddenAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isForbiddenAddress(a), a).toBe(false);
  });

  it('judges every address a host resolves to, and allows private ones only when told', async () => {
    const resolver = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }];
    expect(await resolveAllowed(new URL('https://h.example/'), resolver, false)).toMatchObject({ ok: false });
    expect(await resolveAllowed(new URL('https://h.example/'), resolver, true)).toEqual({ ok: true, address: '93.184.216.34', family: 4 });
    const failing = async () => { throw new Error('ENOTFOUND'); };
    expect(await resolveAllowed(new URL('https://h.example/'), failing, true)).toEqual({ ok: false, reason: 'the host does not resolve' });
  });
});

describe('webhook signatures', () => {
  it('match the Standard Webhooks reference implementation', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'backup.failed', timestamp: new Date().toISOString(), data: { error: 'x' } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = signPayload(secret, 'msg_1', ts, body);
    expect(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body)).toBe(signature);
    expect(new Webhook(secret).verify(body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature })).toMatchObject({ type: 'backup.failed' });
  });
});
