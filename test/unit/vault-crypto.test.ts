import { hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createVaultCipher,
  deriveVaultKey,
  VAULT_FORMAT_VERSION,
  VAULT_HKDF_INFO,
  VAULT_HKDF_SALT,
  VaultCryptoError,
} from '../../src/modules/retention/vault-crypto.ts';

const SECRET = 'test-app-secret-0123456789abcdef0123456789abcdef';
const HEADER = 1 + 12 + 16;

describe('vault crypto', () => {
  const vault = createVaultCipher(SECRET);

  it('round-trips unicode and emoji text', () => {
    const original = JSON.stringify({ firstName: 'Zoë', lastName: '李', notes: 'Likes 🍜 and ☕️ — “quoted”' });
    const blob = vault.encrypt(original);
    expect(vault.decrypt(blob).toString('utf8')).toBe(original);
  });

  it('round-trips arbitrary bytes, including empty input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const plaintext = Buffer.from(bytes);
        const blob = vault.encrypt(plaintext);
        expect(blob.length).toBe(HEADER + plaintext.length);
        expect(vault.decrypt(blob).equals(plaintext)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('lays the blob out as version | iv | tag | ciphertext', () => {
    const blob = vault.encrypt('hello');
    expect(blob[0]).toBe(VAULT_FORMAT_VERSION);
    expect(blob.length).toBe(HEADER + 5);
    expect(blob.subarray(HEADER).toString('utf8')).not.toBe('hello');
  });

  it('two encryptions of the same plaintext differ (random IV)', () => {
    const [a, b] = [vault.encrypt('same'), vault.encrypt('same')];
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(vault.decrypt(a).toString()).toBe('same');
    expect(vault.decrypt(b).toString()).toBe('same');
  });

  it('a different secret cannot decrypt', () => {
    const blob = vault.encrypt('secret data');
    expect(() => createVaultCipher(`${SECRET}x`).decrypt(blob)).toThrow(VaultCryptoError);
    expect(() => createVaultCipher('another secret').decrypt(blob)).toThrow(/wrong APP_SECRET/);
  });

  it('the same secret in another process decrypts (the key is derived, not random)', () => {
    const blob = vault.encrypt('kept across restarts');
    expect(createVaultCipher(SECRET).decrypt(blob).toString()).toBe('kept across restarts');
  });

  it('tampering with any byte fails (property over positions and bit flips)', () => {
    const blob = vault.encrypt('John Doe, john@example.com, +65 9123 4567');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, flip) => {
        const tampered = Buffer.from(blob);
        tampered[index] = (tampered[index] ?? 0) ^ flip;
        expect(() => vault.decrypt(tampered)).toThrow(VaultCryptoError);
      }),
      { numRuns: 200 },
    );
  });

  it('a truncated or extended blob fails', () => {
    const blob = vault.encrypt('payload');
    expect(() => vault.decrypt(blob.subarray(0, blob.length - 1))).toThrow(VaultCryptoError);
    expect(() => vault.decrypt(Buffer.concat([blob, Buffer.from([0])]))).toThrow(VaultCryptoError);
    expect(() => vault.decrypt(blob.subarray(0, HEADER - 1))).toThrow(/malformed/);
    expect(() => vault.decrypt(Buffer.alloc(0))).toThrow(/malformed/);
  });

  it('an unknown version byte is named as such', () => {
    const blob = vault.encrypt('payload');
    blob[0] = 2;
    expect(() => vault.decrypt(blob)).toThrow(/unknown format version 2/);
  });

  it('keeps the GCM failure as the cause (errors are not swallowed)', () => {
    const blob = vault.encrypt('payload');
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
    try {
      vault.decrypt(blob);
      expect.unreachable('decrypt should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(VaultCryptoError);
      expect((error as VaultCryptoError).cause).toBeInstanceOf(Error);
    }
  });

  it('binds a blob to its context when one is given', () => {
    const blob = vault.encrypt('Jane', 'LEADS:1');
    expect(vault.decrypt(blob, 'LEADS:1').toString()).toBe('Jane');
    expect(() => vault.decrypt(blob, 'LEADS:2')).toThrow(VaultCryptoError);
    expect(() => vault.decrypt(blob)).toThrow(VaultCryptoError);
    expect(() => vault.decrypt(vault.encrypt('Jane'), 'LEADS:1')).toThrow(VaultCryptoError);
  });

  it('derives the key with HKDF-SHA256 over the documented salt and info', () => {
    const expected = Buffer.from(hkdfSync('sha256', SECRET, VAULT_HKDF_SALT, VAULT_HKDF_INFO, 32));
    expect(deriveVaultKey(SECRET).equals(expected)).toBe(true);
    expect(deriveVaultKey(SECRET).length).toBe(32);
    expect(deriveVaultKey('a').equals(deriveVaultKey('b'))).toBe(false);
  });

  it('refuses an empty secret', () => {
    expect(() => createVaultCipher('')).toThrow(/APP_SECRET/);
  });
});
