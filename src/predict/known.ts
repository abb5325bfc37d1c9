import { requestAPI } from '../client/client';
import { alwaysLooksUp } from './cache';

/** GET carbon/predict/known: which codes the lookup may have a basis for (see server-ext/openapi.yaml). */
export interface IKnownCodesPayload {
  codes: { bits: number; hashes: number; count: number; array: string };
  templates: string[];
  refresh_s: number;
}

/** The server's numbers, as its flops-scaled basis blanks them (ASCII digits: Python's literals). */
const NUMBER = /(?<![A-Za-z_0-9.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![A-Za-z_0-9])/g;

/** How many hex characters of a template's sha256 the server sends. */
const TEMPLATE_KEY_HEX = 16;

/** Codes run in this page remembered (the server has recorded them long before this many more). */
const LOCAL_MAX = 10_000;

/** How long past its refresh period a payload is still trusted (a refresh may be late or fail once). */
const TRUST_FACTOR = 1.5;

/** The code with its numbers blanked: codes that differ only in numbers share it. */
export function codeTemplate(code: string): string {
  return code.replace(NUMBER, '#');
}

/** A run of this code counts its FLOPs, which makes its template a basis for the same code with other numbers. */
export function countsFlops(code: string): boolean {
  return /--flops\b/.test(code);
}

/** sha256 of the text's UTF-8 as hex; null where the page has no Web Crypto (plain HTTP to a remote host). */
export async function sha256Hex(text: string): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    return null;
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, byte => byte.toString(16).padStart(2, '0')).join('');
}

/** A Bloom filter's positions for a sha256 hex digest (server-ext/jupyterlab_carbon/predict/known.py). */
export function filterPositions(digest: string, bits: number, hashes: number): number[] {
  const first = parseInt(digest.slice(0, 8), 16);
  const second = parseInt(digest.slice(8, 16), 16) | 1;
  // `| 1` works on 32 bits signed: back to the unsigned word. Every sum stays below 2**53, exact.
  const odd = second >>> 0;
  const positions: number[] = [];
  for (let i = 0; i < hashes; i++) {
    positions.push((first + i * odd) % bits);
  }
  return positions;
}

interface IFilter {
  bits: number;
  hashes: number;
  array: Uint8Array;
  templates: Set<string>;
  refreshMs: number;
  receivedAt: number;
}

/** The payload checked and decoded; null when anything in it is not what the server documents. */
export function decodeKnown(payload: unknown, now: number): IFilter | null {
  const known = payload as Partial<IKnownCodesPayload> | null;
  const codes = known?.codes;
  if (
    !codes ||
    !Number.isSafeInteger(codes.bits) ||
    codes.bits < 1 ||
    !Number.isSafeInteger(codes.hashes) ||
    codes.hashes < 1 ||
    codes.hashes > 64 ||
    typeof codes.array !== 'string' ||
    !Array.isArray(known.templates) ||
    !known.templates.every(key => typeof key === 'string' && /^[0-9a-f]{16}$/.test(key)) ||
    typeof known.refresh_s !== 'number' ||
    !(known.refresh_s > 0)
  ) {
    return null;
  }
  let array: Uint8Array;
  try {
    array = Uint8Array.from(atob(codes.array), char => char.charCodeAt(0));
  } catch {
    return null;
  }
  if (array.length * 8 < codes.bits) {
    return null;
  }
  return {
    bits: codes.bits,
    hashes: codes.hashes,
    array,
    templates: new Set(known.templates),
    refreshMs: known.refresh_s * 1000,
    receivedAt: now
  };
}

function filterHas(filter: IFilter, digest: string): boolean {
  return filterPositions(digest, filter.bits, filter.hashes).every(
    position => (filter.array[position >> 3] & (1 << (position & 7))) !== 0
  );
}

/**
 * What the page knows of the codes the server may predict, so that a cell with new code starts at
 * once instead of waiting for a lookup that can only answer "nothing known".
 *
 * A code has no basis when its sha256 is not in the server's known codes (every code in the ledger)
 * nor among the codes this page has run since, and its template (numbers blanked) is not one the
 * server or this page knows a `--flops` run for. Anything uncertain (no payload yet, a payload older
 * than its refresh period allows, a failed refresh, no Web Crypto, `%%carbon --predict`) answers
 * false: the cell waits for its lookup, as without this.
 */
/** After a failed refresh, the next one waits this long, doubling up to MAX_RETRY_MS. */
const RETRY_MS = 30_000;
const MAX_RETRY_MS = 600_000;

export class KnownCodes {
  constructor(
    private readonly _fetch: () => Promise<unknown> = () => requestAPI('predict/known'),
    private readonly _now: () => number = () => Date.now()
  ) {}

  /** Fetch the server's payload now; on failure the page stops trusting what it had. */
  async refresh(): Promise<void> {
    try {
      this._filter = decodeKnown(await this._fetch(), this._now());
      this._failures = 0;
    } catch {
      this._filter = null;
      this._failures++;
      this._failedAt = this._now();
    }
  }

  /**
   * Whether a refresh is due: none yet, or the payload's period has passed; after failures, once
   * RETRY_MS has passed, doubling up to MAX_RETRY_MS (a server without the extension, or down,
   * is not asked every few seconds).
   */
  get stale(): boolean {
    const filter = this._filter;
    if (filter) {
      return this._now() - filter.receivedAt >= filter.refreshMs;
    }
    const wait = this._failures === 0 ? 0 : Math.min(RETRY_MS * 2 ** (this._failures - 1), MAX_RETRY_MS);
    return this._now() - this._failedAt >= wait;
  }

  /** A cell with this code was sent to the kernel: its code (and a `--flops` template) may have a basis now. */
  ran(code: string): void {
    const added = (async () => {
      const digest = await sha256Hex(code);
      if (digest) {
        // Kept whether or not a payload has it since (a false positive of one filter may not be one of
        // the next); the oldest go once a page has run more codes than any cell waits that long for.
        this._local.delete(digest);
        this._local.add(digest);
        if (this._local.size > LOCAL_MAX) {
          this._local.delete(this._local.values().next().value as string);
        }
      }
      if (countsFlops(code)) {
        const key = await sha256Hex(codeTemplate(code));
        if (key) {
          this._localTemplates.add(key.slice(0, TEMPLATE_KEY_HEX));
        }
      }
    })();
    this._pending = Promise.all([this._pending, added.catch(() => undefined)]).then(() => undefined);
  }

  /** True only when the server cannot have a basis for this code (see the class comment). */
  async hasNoBasis(code: string): Promise<boolean> {
    await this._pending; // a code this page has just sent is known before it is asked about
    const filter = this._filter;
    if (!filter || alwaysLooksUp(code) || this._now() - filter.receivedAt > filter.refreshMs * TRUST_FACTOR) {
      return false;
    }
    const digest = await sha256Hex(code);
    if (!digest || this._local.has(digest) || filterHas(filter, digest)) {
      return false;
    }
    const key = (await sha256Hex(codeTemplate(code)))?.slice(0, TEMPLATE_KEY_HEX);
    return !!key && !filter.templates.has(key) && !this._localTemplates.has(key);
  }

  private _filter: IFilter | null = null;
  private _failures = 0;
  private _failedAt = 0;
  private _local = new Set<string>();
  private _localTemplates = new Set<string>();
  private _pending: Promise<void> = Promise.resolve();
}
