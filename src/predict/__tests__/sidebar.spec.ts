import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IAccuracy, ICalibration, IEstimateRequest, ITrainingEstimate } from '../api';
import { accuracyChart, calibrationChart, REGIONS_DRAWN, regionsChart } from '../charts';
import { EMPTY_ESTIMATE_FORM, parseSize, readEstimateForm } from '../estimateform';
import { IRun } from '../../tokens';
import { IPredictionsApi, PredictionsPanel, REFRESH_DELAY_MS } from '../sidebar';

const trans = nullTranslator.load('jupyterlab_carbon');

const interval = (p50: number) => ({ p50, low: p50 * 0.8, high: p50 * 1.25 });

function estimate(overrides: Partial<ITrainingEstimate> = {}): ITrainingEstimate {
  return {
    flops: 8.4e22,
    gpu: {
      key: 'H100-SXM',
      model: 'NVIDIA H100 SXM',
      peak_tflops: { bf16: 989 },
      tdp_watts: 700,
      memory_gb: 80,
      source: 'datasheet',
      reference: 'https://example.org',
      license: 'facts'
    },
    dtype: 'bf16',
    mfu: 0.4,
    pue: 1.1,
    count: 64,
    gpu_hours: interval(58952),
    wall_time_s: interval(3.3e6),
    energy_j: interval(1.5e11),
    facility_energy_j: interval(1.6e11),
    gco2e: interval(2.5e6),
    cost: null,
    currency: null,
    intensity: { gco2e_per_kwh: 56, zone: 'FR', source: 'Ember' },
    assumptions: ['<img src=x onerror=alert(1)> as given'],
    regions: Array.from({ length: 20 }, (_, i) => ({
      provider: 'gcp',
      region: `r${i}`,
      location: 'Somewhere',
      gco2e_per_kwh: 10 + i,
      pue: 1.1,
      gco2e: 1e6 * (i + 1)
    })),
    ...overrides
  };
}

function api(overrides: Partial<IPredictionsApi> = {}): IPredictionsApi & { requests: IEstimateRequest[] } {
  const requests: IEstimateRequest[] = [];
  return {
    requests,
    fetchGpus: async () => [estimate().gpu],
    estimateTraining: async request => {
      requests.push(request);
      return estimate();
    },
    fetchCalibrations: async () => [],
    fetchAccuracy: async () => ({ runs: [], scanned: 0, median_abs_error: null, within_interval: null }),
    ...overrides
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function submit(panel: PredictionsPanel, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    (panel.node.querySelector(`input[name="${name}"]`) as HTMLInputElement).value = value;
  }
  panel.node.querySelector('form')!.dispatchEvent(new Event('submit', { cancelable: true }));
}

/** A calibration of two runs' points (one of them not finite), to override as a test needs. */
function calibrationFit(overrides: Partial<ICalibration> = {}): ICalibration {
  const fit: ICalibration = {
    device: 'cpu',
    dtype: 'float32',
    runs: 2,
    flops_per_s: 1e10,
    joules_per_flop: 1e-9,
    fixed_energy_j: 3,
    fixed_duration_s: 0.1,
    spread: 0.3,
    points: [
      {
        run_id: 'a',
        started_at: 1,
        flops: 1e9,
        energy_j: 4,
        duration_s: 0.2,
        flops_per_s: 5e9,
        joules_per_flop: 4e-9
      },
      {
        run_id: 'b',
        started_at: 2,
        flops: 2e9,
        energy_j: NaN,
        duration_s: 0.3,
        flops_per_s: 6e9,
        joules_per_flop: NaN
      }
    ]
  };
  return { ...fit, ...overrides };
}

describe('the calculator form', () => {
  it('reads sizes as people write them', () => {
    expect(parseSize('7e9')).toBe(7e9);
    expect(parseSize('7B')).toBe(7e9);
    expect(parseSize(' 2 T ')).toBe(2e12);
    expect(parseSize('1,500,000')).toBe(1.5e6);
    expect(parseSize('1.5k')).toBe(1500);
    expect(parseSize('seven')).toBeNaN();
    expect(parseSize('-3')).toBeNaN();
  });

  it('names the field of the first mistake', () => {
    const form = { ...EMPTY_ESTIMATE_FORM, params: '7B', tokens: '2T' };
    expect(readEstimateForm(form, trans)).toEqual({
      request: { gpu: 'H100-SXM', count: 8, params: 7e9, tokens: 2e12 }
    });
    const field = (changes: Partial<typeof form>) => {
      const read = readEstimateForm({ ...form, ...changes }, trans);
      return 'field' in read ? read.field : null;
    };
    expect(field({ count: '0' })).toBe('count');
    expect(field({ count: '2.5' })).toBe('count');
    expect(field({ tokens: '' })).toBe('tokens');
    expect(field({ params: 'big' })).toBe('params');
    expect(field({ flops: '1e20' })).toBe('flops'); // both ways of giving the size
    expect(field({ mfu: '140%' })).toBe('mfu');
    expect(field({ pue: '0.9' })).toBe('pue');
    expect(field({ price: '0.2' })).toBe('currency');
    expect(field({ price: '-1', currency: 'EUR' })).toBe('price');
    const full = readEstimateForm(
      {
        ...form,
        params: '',
        tokens: '',
        flops: '8.4e22',
        mfu: '40%',
        where: 'aws:us-east-1',
        price: '0.2',
        currency: 'eur'
      },
      trans
    );
    expect(full).toEqual({
      request: {
        gpu: 'H100-SXM',
        count: 8,
        flops: 8.4e22,
        mfu: 0.4,
        region: 'aws:us-east-1',
        price: 0.2,
        currency: 'EUR'
      }
    });
    expect(readEstimateForm({ ...form, where: 'FR' }, trans)).toMatchObject({ request: { zone: 'FR' } });
  });
});

describe('the Predictions charts', () => {
  it('draw the greenest regions, and every region in the table', () => {
    const chart = regionsChart(estimate().regions, trans)!;
    expect((chart.spec as { data: { values: unknown[] } }).data.values).toHaveLength(REGIONS_DRAWN);
    expect(chart.table.rows).toHaveLength(20);
    expect(chart.description).toContain('15 greenest of 20');
    expect(regionsChart([], trans)).toBeNull();
  });

  it('leave out what is not finite, and answer null with nothing left', () => {
    const fit = calibrationFit();
    expect(calibrationChart([fit], trans)!.table.rows).toHaveLength(1);
    expect(calibrationChart([{ ...fit, points: [] }], trans)).toBeNull();
    const point = {
      run_id: 'r',
      started_at: 1.8e9,
      notebook_path: null,
      code_preview: null,
      basis: 'history',
      predicted_j: interval(100),
      measured_j: 110,
      error: 0.1,
      within_interval: true
    };
    expect(accuracyChart([point, { ...point, error: Infinity }], trans)!.table.rows).toHaveLength(1);
    expect(accuracyChart([], trans)).toBeNull();
  });
});

describe('the Predictions sidebar', () => {
  it('estimates from the form and shows the figures and assumptions as text', async () => {
    const fake = api();
    const panel = new PredictionsPanel(trans, null, fake);
    submit(panel, { count: '64', params: '7B', tokens: '2T', where: 'FR' });
    await settle();
    expect(fake.requests).toEqual([{ gpu: 'H100-SXM', count: 64, params: 7e9, tokens: 2e12, zone: 'FR' }]);
    const result = panel.node.querySelector('.jp-carbon-Predictions-result')!;
    expect(result.textContent).toContain('GPU-hours');
    expect(result.textContent).toContain('2.5 t CO₂e');
    // A server string is text, never markup.
    expect(result.querySelector('img')).toBeNull();
    expect(result.querySelector('li')!.textContent).toBe('<img src=x onerror=alert(1)> as given');
    panel.dispose();
  });

  it('marks a bad field and says why, and shows the server refusing', async () => {
    const fake = api({
      estimateTraining: async () => {
        throw new Error("Unknown GPU 'B300'");
      }
    });
    const panel = new PredictionsPanel(trans, null, fake);
    submit(panel, { count: 'lots', params: '7B', tokens: '2T' });
    await settle();
    const count = panel.node.querySelector('input[name="count"]')!;
    expect(count.getAttribute('aria-invalid')).toBe('true');
    const error = panel.node.querySelector('[role="alert"]')!;
    expect(error.textContent).toContain('whole number');
    submit(panel, { count: '8' });
    await settle();
    expect(count.hasAttribute('aria-invalid')).toBe(false);
    expect(error.textContent).toBe("No estimate: Unknown GPU 'B300'");
    panel.dispose();
  });

  it('says how to get a calibration, and summarises the prediction error', async () => {
    const accuracy: IAccuracy = {
      runs: [
        {
          run_id: 'r',
          started_at: 1.8e9,
          notebook_path: 'a.ipynb',
          code_preview: 'fit()',
          basis: 'history',
          predicted_j: interval(100),
          measured_j: 112,
          error: 0.12,
          within_interval: true
        }
      ],
      scanned: 40,
      median_abs_error: 0.12,
      within_interval: 1
    };
    const panel = new PredictionsPanel(trans, null, api({ fetchAccuracy: async () => accuracy }));
    await panel.refresh();
    expect(panel.node.querySelector('.jp-carbon-Predictions-calibration')!.textContent).toContain('%%carbon --flops');
    expect(panel.node.querySelector('.jp-carbon-Predictions-accuracy')!.textContent).toBe(
      '1 run with a prediction: error 12.0 %, 100 % inside the predicted interval.'
    );
    panel.dispose();
  });

  it('a calibration is shown per device and data type; a failed read says so', async () => {
    const fit = calibrationFit({
      runs: 3,
      flops_per_s: 2.5e10,
      joules_per_flop: 1.2e-9,
      fixed_energy_j: 3600,
      spread: 0.2,
      points: []
    });
    const panel = new PredictionsPanel(
      trans,
      null,
      api({
        fetchCalibrations: async () => [fit],
        fetchAccuracy: async () => {
          throw new Error('503 Service Unavailable');
        }
      })
    );
    await panel.refresh();
    const fitNode = panel.node.querySelector('.jp-carbon-Predictions-fit')!;
    expect(fitNode.querySelector('h4')!.textContent).toBe('cpu float32: 3 runs');
    expect(Array.from(fitNode.querySelectorAll('dd')).map(dd => dd.textContent)).toEqual([
      '2.50e+10 FLOP/s',
      '1.20e-9 J',
      '1 Wh',
      '±20 %'
    ]);
    expect(panel.node.querySelector('.jp-carbon-Predictions-accuracy')!.textContent).toBe(
      'The prediction error could not be read: 503 Service Unavailable'
    );
    panel.dispose();
  });

  it('refreshes in place while shown: the charts drawn before are replaced, not left behind', async () => {
    const fit = calibrationFit({ points: calibrationFit().points.slice(0, 1) });
    const panel = new PredictionsPanel(trans, null, api({ fetchCalibrations: async () => [fit] }));
    // jsdom cannot load vega-embed (an ES module): the chart says it could not be drawn, in the console too.
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    Widget.attach(panel, document.body);
    try {
      await panel.refresh();
      await panel.refresh(); // disposing the first chart must not find it detached
      expect(panel.node.querySelectorAll('.jp-carbon-Predictions-calibration .jp-carbon-chart')).toHaveLength(1);
    } finally {
      panel.dispose();
      jest.restoreAllMocks();
    }
    expect(document.body.querySelector('.jp-carbon-chart')).toBeNull();
  });

  it('reads its figures again after a run that counted FLOPs or was shown a prediction, once shown', async () => {
    let reads = 0;
    const panel = new PredictionsPanel(
      trans,
      null,
      api({
        fetchCalibrations: async () => {
          reads++;
          return [];
        }
      })
    );
    const run = (extra: Record<string, unknown>) => ({ extra }) as unknown as IRun;
    panel.runRecorded(run({ flops: { count: 1 } }));
    await new Promise(resolve => setTimeout(resolve, REFRESH_DELAY_MS + 100));
    expect(reads).toBe(0); // never shown: nothing to keep current
    panel.hide();
    Widget.attach(panel, document.body);
    try {
      panel.show(); // the first show reads them
      await settle();
      expect(reads).toBe(1);
      panel.runRecorded(run({}));
      panel.runRecorded(run({ flops: { count: 1 } }));
      panel.runRecorded(run({ prediction: {} }));
      await new Promise(resolve => setTimeout(resolve, REFRESH_DELAY_MS + 100));
      expect(reads).toBe(2); // two relevant runs, gathered into one read
    } finally {
      panel.dispose();
    }
  });
});
