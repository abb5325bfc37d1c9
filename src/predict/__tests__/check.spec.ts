import { nullTranslator } from '@jupyterlab/translation';

import { formatError, predictionCheck, predictionSection } from '../check';
import { prediction } from './fixtures';

const trans = nullTranslator.load('jupyterlab_carbon');

describe('predicted vs measured', () => {
  it('reads the prediction and its error from the run extra (the prediction or the whole answer)', () => {
    const check = predictionCheck({ prediction: prediction(), prediction_error: 0.12 });
    expect(check?.energy_j.p50).toBe(648000);
    expect(check?.error).toBe(0.12);
    expect(check?.basis.kind).toBe('history');
    expect(predictionCheck({ prediction: { prediction: prediction() } })?.error).toBeNull();
  });

  it('is null without a usable prediction', () => {
    expect(predictionCheck({})).toBeNull();
    expect(predictionCheck(undefined)).toBeNull();
    expect(predictionCheck({ prediction: null })).toBeNull();
    expect(predictionCheck({ prediction: { energy_j: { p50: 'x' } } })).toBeNull();
  });

  it('formats the error with its sign', () => {
    expect(formatError(0.123)).toBe('+12 %');
    expect(formatError(-0.08)).toBe('−8 %');
    expect(formatError(0)).toBe('±0 %');
  });

  it('shows predicted and measured energy and duration and the error, as text', () => {
    const check = predictionCheck({ prediction: prediction(), prediction_error: -0.25 })!;
    const node = predictionSection(trans, check, { energy_j: 486000, duration_s: 1800 }, 'Wh');
    const text = node.textContent ?? '';
    expect(text).toContain('Predicted vs measured');
    expect(text).toMatch(/predicted 180.*Wh \(150.*– 210.*\), measured 135.*Wh/);
    expect(text).toContain('Error: −25 % of the predicted energy.');
    expect(text).toMatch(/earlier runs/);
  });
});
