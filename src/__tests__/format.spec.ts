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
