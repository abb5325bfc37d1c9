/** The calculator form's values read into a request, each mistake named with its field. */

import type { TranslationBundle } from '@jupyterlab/translation';

import { IEstimateRequest } from './api';

/** The form's fields, as typed (every value a string). */
export interface IEstimateForm {
  gpu: string;
  count: string;
  params: string;
  tokens: string;
  flops: string;
  mfu: string;
  pue: string;
  where: string;
  price: string;
  currency: string;
}

export const EMPTY_ESTIMATE_FORM: IEstimateForm = {
  gpu: 'H100-SXM',
  count: '8',
  params: '',
  tokens: '',
  flops: '',
  mfu: '',
  pue: '',
  where: '',
  price: '',
  currency: ''
};

export type EstimateFormResult = { request: IEstimateRequest } | { field: keyof IEstimateForm; error: string };

const SUFFIXES: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12, p: 1e15 };

/**
 * A positive size as people write it: `7e9`, `7000000000`, `7B`, `2T`, `1.5 M` (k, M, B or G, T, P).
 * NaN when it is none of these.
 */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([-+]?\d+))?\s*([kmbgtp])?\s*$/i.exec(text.replace(/[_,]/g, ''));
  if (!match) {
    return NaN;
  }
  const value = Number(`${match[1]}${match[2] !== undefined ? `e${match[2]}` : ''}`);
  return value * (match[3] ? SUFFIXES[match[3].toLowerCase()] : 1);
}

/** Read the form; the first mistake is answered with its field, in words. */
export function readEstimateForm(form: IEstimateForm, trans: TranslationBundle): EstimateFormResult {
  const request: IEstimateRequest = { gpu: form.gpu.trim(), count: 0 };
  if (!request.gpu) {
    return { field: 'gpu', error: trans.__('Choose a GPU.') };
  }
  const count = Number(form.count.trim());
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000) {
    return { field: 'count', error: trans.__('The number of GPUs is a whole number from 1 to 1,000,000.') };
  }
  request.count = count;

  const size = (field: 'params' | 'tokens' | 'flops', label: string): number | null | { error: string } => {
    const text = form[field].trim();
    if (!text) {
      return null;
    }
    const value = parseSize(text);
    return Number.isFinite(value) && value > 0
      ? value
      : { error: trans.__('%1 must be a number above zero, such as 7e9 or 7B.', label) };
  };
  const flops = size('flops', trans.__('FLOPs'));
  const params = size('params', trans.__('Parameters'));
  const tokens = size('tokens', trans.__('Tokens'));
  for (const [field, value] of [
    ['flops', flops],
    ['params', params],
    ['tokens', tokens]
  ] as const) {
    if (value !== null && typeof value === 'object') {
      return { field, error: value.error };
    }
  }
  if (typeof flops === 'number') {
    if (params !== null || tokens !== null) {
      return { field: 'flops', error: trans.__('Give either the FLOPs or the parameters and tokens, not both.') };
    }
    request.flops = flops;
  } else if (typeof params === 'number' && typeof tokens === 'number') {
    request.params = params;
    request.tokens = tokens;
  } else {
    return {
      field: params === null ? 'params' : 'tokens',
      error: trans.__('Give the parameters and the training tokens (FLOPs = 6 x parameters x tokens), or the FLOPs.')
    };
  }

  const mfuText = form.mfu.trim();
  if (mfuText) {
    const percent = mfuText.endsWith('%');
    const mfu = Number(percent ? mfuText.slice(0, -1) : mfuText) / (percent ? 100 : 1);
    if (!Number.isFinite(mfu) || mfu <= 0 || mfu > 1) {
      return { field: 'mfu', error: trans.__('The utilisation (MFU) is above 0 and at most 1, or a percentage.') };
    }
    request.mfu = mfu;
  }
  const pueText = form.pue.trim();
  if (pueText) {
    const pue = Number(pueText);
    if (!Number.isFinite(pue) || pue < 1 || pue > 3) {
      return { field: 'pue', error: trans.__('The PUE is from 1.0 to 3.0.') };
    }
    request.pue = pue;
  }
  const where = form.where.trim();
  if (where) {
    if (where.includes(':')) {
      request.region = where; // provider:region
    } else {
      request.zone = where;
    }
  }
  const priceText = form.price.trim();
  const currency = form.currency.trim().toUpperCase();
  if (priceText) {
    const price = Number(priceText);
    if (!Number.isFinite(price) || price <= 0 || price > 10_000) {
      return { field: 'price', error: trans.__('The price per kWh is above 0 and at most 10,000.') };
    }
    if (!/^[A-Z]{3}$/.test(currency)) {
      return { field: 'currency', error: trans.__('With a price, give its currency as a 3-letter code (EUR, USD).') };
    }
    request.price = price;
    request.currency = currency;
  }
  return { request };
}
