/**
 * Encryption of the retention vault (the originals of masked fields): AES-256-GCM with a key derived from
 * APP_SECRET by HKDF-SHA256. Pure apart from the random IV; the secret is passed in, never read from env.
 *
 * Blob layout: version (1 byte) | IV (12 bytes) | GCM tag (16 bytes) | ciphertext.
 * The version byte is authenticated too (as additional data), so it cannot be swapped to mislead a future reader.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const VAULT_FORMAT_VERSION = 1;
const IV_BYTES = 12; // the GCM standard nonce size; random per encryption
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

/**
 * HKDF salt: a fixed, public constant. A salt need not be secret; a random one would have to be stored next to
 * every deployment and lost with it. APP_SECRET is the only secret. The info string separates this key from any
 * other key derived from the same APP_SECRET (download links use HMAC with it directly).
 */
export const VAULT_HKDF_SALT = 'crm-data-admin/retention-vault/hkdf-salt/v1';
export const VAULT_HKDF_INFO = 'crm-data-admin retention vault v1';

export class VaultCryptoError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VaultCryptoError';
  }
}

export interface VaultCipher {
  /**
   * Encrypts with a fresh random IV. `context` (e.g. `LEADS:<record id>`) is authenticated, not stored: a blob
   * only decrypts with the same context, so a vault row copied onto another record is refused.
   */
  encrypt(plaintext: Buffer | string, context?: string): Buffer;
  /** Throws VaultCryptoError when the blob is malformed, tampered, or from another secret or context. */
  decrypt(blob: Buffer, context?: string): Buffer;
}

/** The 32-byte AES key for `appSecret`. */
export function deriveVaultKey(appSecret: string): Buffer {
  if (typeof appSecret !== 'string' || appSecret.length === 0) {
    throw new VaultCryptoError('APP_SECRET must be a non-empty string');
  }
  return Buffer.from(hkdfSync('sha256', appSecret, VAULT_HKDF_SALT, VAULT_HKDF_INFO, KEY_BYTES));
}

export function createVaultCipher(appSecret: string): VaultCipher {
  const key = deriveVaultKey(appSecret);
  return {
    encrypt: (plaintext, context) => encrypt(key, plaintext, context),
    decrypt: (blob, context) => decrypt(key, blob, context),
  };
}

function additionalData(version: number, context: string | undefined): Buffer {
  return Buffer.concat([Buffer.from([version]), Buffer.from(context ?? '', 'utf8')]);
}

function encrypt(key: Buffer, plaintext: Buffer | string, context: string | undefined): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(VAULT_FORMAT_VERSION, context));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([Buffer.from([VAULT_FORMAT_VERSION]), iv, cipher.getAuthTag(), ciphertext]);
}

function decrypt(key: Buffer, blob: Buffer, context: string | undefined): Buffer {
  if (!Buffer.isBuffer(blob) || blob.length < HEADER_BYTES) {
    throw new VaultCryptoError(`vault blob is malformed: shorter than its ${HEADER_BYTES}-byte header`);
  }
  const version = blob[0];
  if (version !== VAULT_FORMAT_VERSION) {
    throw new VaultCryptoError(`vault blob has unknown format version ${String(version)}`);
  }
  const iv = blob.subarray(1, 1 + IV_BYTES);
  const tag = blob.subarray(1 + IV_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additionalData(version, context));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES)), decipher.final()]);
  } catch (error) {
    // GCM says only "unable to authenticate data"; say what it means here, and keep the cause.
    throw new VaultCryptoError(
      'vault blob could not be decrypted: wrong APP_SECRET or context, or the data was tampered with',
      { cause: error },
    );
  }
}
