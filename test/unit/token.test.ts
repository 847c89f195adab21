import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, looksLikeToken, parseBearer } from '../../src/modules/auth/token.ts';

describe('API tokens', () => {
  it('generates distinct, recognisable, well-formed tokens', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateToken()));
    expect(tokens.size).toBe(200);
    for (const token of tokens) {
      expect(token).toMatch(/^cda_[A-Za-z0-9_-]{43}$/);
      expect(looksLikeToken(token)).toBe(true);
    }
  });

  it('hashes with SHA-256 (hex), deterministically', () => {
    expect(hashToken('cda_abc')).toBe(hashToken('cda_abc'));
    expect(hashToken('cda_abc')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken('cda_abc')).not.toBe(hashToken('cda_abd'));
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([
    ['', false],
    ['cda_', false],
    ['cda_short', false],
    [`cda_${'A'.repeat(39)}`, false],
    [`cda_${'A'.repeat(40)}`, true],
    [`cda_${'A'.repeat(80)}`, true],
    [`cda_${'A'.repeat(81)}`, false],
    [`xyz_${'A'.repeat(43)}`, false],
    [`CDA_${'A'.repeat(43)}`, false],
    [`cda_${'A'.repeat(42)}=`, false],
    [`cda_${'A'.repeat(42)} `, false],
    [`cda_${'A'.repeat(20)}.${'A'.repeat(22)}`, false],
  ])('looksLikeToken(%j) is %s', (value, expected) => {
    expect(looksLikeToken(value)).toBe(expected);
  });

  it.each([
    ['Bearer cda_abc', 'cda_abc'],
    ['bearer cda_abc', 'cda_abc'],
    ['BEARER   cda_abc  ', 'cda_abc'],
    ['Bearer\tcda_abc', 'cda_abc'],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Bearer a b', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['cda_abc', undefined],
    ['', undefined],
    [undefined, undefined],
    [null, undefined],
  ])('parseBearer(%j) is %j', (header, expected) => {
    expect(parseBearer(header)).toBe(expected);
  });
});
