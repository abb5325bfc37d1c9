import { exceededThresholds, readPredictSettings } from '../threshold';
import { DEFAULT_PREDICT_SETTINGS } from '../types';
import { prediction } from './fixtures';

describe('thresholds', () => {
  const off = { enabled: true, lookup_timeout_ms: 250, energy_wh: null, gco2e_g: null, cost: null, duration_s: null };

  it('flags each figure whose median is above its threshold, in Wh for energy', () => {
    const found = exceededThresholds(prediction(), {
      enabled: true,
      lookup_timeout_ms: 250,
      energy_wh: 100,
      gco2e_g: 80,
      cost: 1,
      duration_s: 3000
    });
    // 648000 J = 180 Wh > 100 Wh; 85 g > 80 g; cost 0.05 < 1; 2400 s < 3000 s
    expect(found).toEqual([
      { figure: 'energy', predicted: 180, threshold: 100 },
      { figure: 'carbon', predicted: 85, threshold: 80 }
    ]);
  });

  it('compares the median, not the interval', () => {
    expect(exceededThresholds(prediction(), { ...off, energy_wh: 200 })).toEqual([]); // high is 210 Wh
    expect(exceededThresholds(prediction(), { ...off, duration_s: 2400 })).toEqual([]); // not above
    expect(exceededThresholds(prediction(), { ...off, duration_s: 2399 })).toHaveLength(1);
  });

  it('asks nothing with no prediction, the gate off, or every threshold empty', () => {
    expect(exceededThresholds(null, DEFAULT_PREDICT_SETTINGS)).toEqual([]);
    expect(exceededThresholds(prediction(), { ...DEFAULT_PREDICT_SETTINGS, enabled: false })).toEqual([]);
    expect(exceededThresholds(prediction(), off)).toEqual([]);
  });

  it('skips a cost threshold when the prediction has no cost (no price set)', () => {
    expect(exceededThresholds(prediction({ cost: null, currency: null }), { ...off, cost: 0 })).toEqual([]);
    expect(exceededThresholds(prediction(), { ...off, cost: 0 })).toEqual([
      { figure: 'cost', predicted: 0.05, threshold: 0 }
    ]);
  });

  it('reads settings: null turns a threshold off, missing or malformed values take the default', () => {
    expect(readPredictSettings({}, DEFAULT_PREDICT_SETTINGS)).toEqual(DEFAULT_PREDICT_SETTINGS);
    expect(
      readPredictSettings(
        { enabled: false, lookup_timeout_ms: 0, energy_wh: null, gco2e_g: 5, cost: -1, duration_s: 'x' },
        DEFAULT_PREDICT_SETTINGS
      )
    ).toEqual({ enabled: false, lookup_timeout_ms: 250, energy_wh: null, gco2e_g: 5, cost: null, duration_s: 300 });
  });
});
