import { formatPower, significant } from '../format';

describe('formatPower', () => {
  it.each([
    [38.2, '38 W'],
    [9.87, '9.87 W'],
    [0, '0 W'],
    [0.05, '50 mW'],
    [1234, '1.23 kW'],
    [25000, '25 kW'],
    [2.5e6, '2.5 MW'],
    [0.0004, '0.4 mW']
  ])('formats %p W as %p', (watts, text) => {
    expect(formatPower(watts)).toBe(text);
  });

  it('renders missing values as a dash, never as a number', () => {
    expect(formatPower(null)).toBe('–');
    expect(formatPower(undefined)).toBe('–');
    expect(formatPower(Number.NaN)).toBe('–');
  });
});

describe('significant', () => {
  it('keeps two to three significant digits without trailing zeros', () => {
    expect(significant(1.5)).toBe('1.5');
    expect(significant(12.345)).toBe('12.3');
    expect(significant(123.4)).toBe('123');
    expect(significant(2)).toBe('2');
  });
});

import { formatCarbon, formatCost, formatDuration, formatEnergy } from '../format';

describe('energy, carbon, cost and duration', () => {
  it.each([
    [3600, '1 Wh'],
    [1800, '500 mWh'],
    [3.6e6, '1 kWh'],
    [1, '278 µWh'],
    [0.0036, '1 µWh'],
    [0, '0 Wh']
  ])('formats %p J as %p', (joules, text) => {
    expect(formatEnergy(joules)).toBe(text);
  });

  it('formats joules when asked', () => {
    expect(formatEnergy(1500, 'J')).toBe('1.5 kJ');
    expect(formatEnergy(0.5, 'J')).toBe('500 mJ');
  });

  it.each([
    [0.0042, '4.2 mg CO₂e'],
    [12.34, '12.3 g CO₂e'],
    [2500, '2.5 kg CO₂e'],
    [3e-7, '0.3 µg CO₂e']
  ])('formats %p g as %p, never 0.000', (grams, text) => {
    expect(formatCarbon(grams)).toBe(text);
  });

  it('never prints a tiny amount as zero', () => {
    for (const value of [1e-9, 1e-5, 0.0004]) {
      expect(formatEnergy(value)).not.toMatch(/^0(\.0+)? /);
      expect(formatCarbon(value)).not.toMatch(/^0(\.0+)? /);
    }
  });

  it('formats costs with the currency and keeps tiny amounts readable', () => {
    expect(formatCost(1.5, 'EUR')).toMatch(/1\.5/);
    expect(formatCost(1.5, 'EUR')).toMatch(/€|EUR/);
    expect(formatCost(0.00012, 'USD')).toMatch(/0\.00012/);
    expect(formatCost(2, 'credits')).toBe('2 credits');
    expect(formatCost(null, 'EUR')).toBe('–');
  });

  it.each([
    [0.25, '250 ms'],
    [3.14, '3.14 s'],
    [125, '2 min 5 s'],
    [3720, '1 h 2 min']
  ])('formats %p s as %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
