import { webcrypto } from 'crypto';
import { TextEncoder } from 'util';

import { codeTemplate, decodeKnown, filterPositions, IKnownCodesPayload, KnownCodes, sha256Hex } from '../known';

// jsdom lacks Web Crypto's digest and TextEncoder; the browser and Node share them.
beforeAll(() => {
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
  Object.defineProperty(globalThis, 'TextEncoder', { value: TextEncoder, configurable: true });
});

const BITS = 9816; // the server's filter for its smallest capacity (test_predict_known.py)

/** A payload as the server builds it, holding these code digests and template keys. */
function payload(digests: string[], templates: string[] = [], refresh_s = 60): IKnownCodesPayload {
  const array = new Uint8Array(Math.ceil(BITS / 8));
  for (const digest of digests) {
    for (const position of filterPositions(digest, BITS, 7)) {
      array[position >> 3] |= 1 << (position & 7);
    }
  }
  return {
    codes: { bits: BITS, hashes: 7, count: digests.length, array: btoa(String.fromCharCode(...array)) },
    templates,
    refresh_s
  };
}

async function digestOf(code: string): Promise<string> {
  return (await sha256Hex(code))!;
}

describe('the known codes, as the server computes them', () => {
  it('positions by double hashing, exact for the largest words', () => {
    // The same digests and positions as test_positions_follow_the_documented_double_hashing.
    expect(filterPositions(`00000005${'00000002'}${'0'.repeat(48)}`, BITS, 7)).toEqual([5, 8, 11, 14, 17, 20, 23]);
    const top = filterPositions(`ffffffff${'fffffffe'}${'0'.repeat(48)}`, BITS, 7);
    expect(top).toEqual([0, 1, 2, 3, 4, 5, 6].map(i => Number((0xffffffffn + BigInt(i) * 0xffffffffn) % 9816n)));
  });

  it('blanks the numbers the server blanks (ASCII digits, not parts of names)', () => {
    expect(codeTemplate('x = 12 + \u0663\u0664')).toBe('x = # + \u0663\u0664');
    expect(codeTemplate('a1 = 2.5e-3 * x.5 + 1E+9')).toBe('a1 = # * x.5 + #');
    expect(codeTemplate('lr=0.001; epochs=20; name="v2"')).toBe('lr=#; epochs=#; name="v2"');
  });

  it('hashes UTF-8 as Python does', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // The server's template key of this template (predict.service.template_key).
    expect((await sha256Hex('%%carbon --flops\ntrain(epochs=#)'))!.slice(0, 16)).toBe('882684237e470d10');
  });

  it('refuses a payload that is not what the server documents', () => {
    const good = payload([]);
    expect(decodeKnown(good, 0)).not.toBeNull();
    expect(decodeKnown(null, 0)).toBeNull();
    expect(decodeKnown({ ...good, codes: { ...good.codes, bits: 1e6 } }, 0)).toBeNull(); // array too short
    expect(decodeKnown({ ...good, codes: { ...good.codes, array: '***' } }, 0)).toBeNull();
    expect(decodeKnown({ ...good, templates: ['<b>'] }, 0)).toBeNull();
    expect(decodeKnown({ ...good, refresh_s: 0 }, 0)).toBeNull();
  });
});

describe('which cells need not wait', () => {
  let now = 0;
  const clock = () => now;

  it('new code has no basis; code the server knows, or a template with a --flops run, has', async () => {
    const flopsTemplate = (await digestOf('%%carbon --flops\ntrain(epochs=#)')).slice(0, 16);
    const known = new KnownCodes(async () => payload([await digestOf('fit()')], [flopsTemplate]), clock);
    expect(await known.hasNoBasis('new()')).toBe(false); // nothing fetched yet: wait
    await known.refresh();
    expect(await known.hasNoBasis('new()')).toBe(true);
    expect(await known.hasNoBasis('fit()')).toBe(false);
    expect(await known.hasNoBasis('%%carbon --flops\ntrain(epochs=50)')).toBe(false);
    expect(await known.hasNoBasis('%%carbon --flops\ntrain(steps=50)')).toBe(true);
    expect(await known.hasNoBasis('%%carbon --predict "model=m"\nfit()')).toBe(false);
  });

  it('code this page has run waits from then on, before any refresh has it', async () => {
    const known = new KnownCodes(async () => payload([]), clock);
    await known.refresh();
    known.ran('y = 2');
    expect(await known.hasNoBasis('y = 2')).toBe(false);
    expect(await known.hasNoBasis('y = 3')).toBe(true); // no --flops: other numbers are new code
    known.ran('%%carbon --flops\nf(3)');
    expect(await known.hasNoBasis('%%carbon --flops\nf(4)')).toBe(false);
    await known.refresh(); // still held after a refresh that does not have it
    expect(await known.hasNoBasis('y = 2')).toBe(false);
  });

  it('a stale payload, a failed refresh or no Web Crypto makes every cell wait', async () => {
    let fail = false;
    now = 0;
    const known = new KnownCodes(async () => {
      if (fail) {
        throw new Error('offline');
      }
      return payload([], [], 60);
    }, clock);
    await known.refresh();
    expect(known.stale).toBe(false);
    now = 60_000;
    expect(known.stale).toBe(true);
    expect(await known.hasNoBasis('a()')).toBe(true); // within 1.5 periods: a refresh may be late
    now = 90_001;
    expect(await known.hasNoBasis('a()')).toBe(false);
    await known.refresh();
    expect(await known.hasNoBasis('a()')).toBe(true);
    fail = true;
    await known.refresh();
    expect(await known.hasNoBasis('a()')).toBe(false);
    // A failing server is asked again after 30 s, then 60 s, ... (not at every 5 s check).
    expect(known.stale).toBe(false);
    now += 30_000;
    expect(known.stale).toBe(true);
    await known.refresh();
    now += 30_000;
    expect(known.stale).toBe(false);
    now += 30_000;
    expect(known.stale).toBe(true);

    fail = false;
    await known.refresh();
    Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true });
    try {
      expect(await known.hasNoBasis('a()')).toBe(false);
    } finally {
      Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
    }
  });
});
