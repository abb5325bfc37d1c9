/** Formatting of physical quantities for people: sensible units and digits, never "0.000". */

const POWER_UNITS: Array<[number, string]> = [
  [1e6, 'MW'],
  [1e3, 'kW'],
  [1, 'W'],
  [1e-3, 'mW']
];

/** Two to three significant digits, without trailing zeros. */
export function significant(value: number): string {
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

/**
 * Format a power in watts, e.g. 38.2 -> "38 W", 1234 -> "1.23 kW", 0.05 -> "50 mW".
 * Missing values render as an en dash.
 */
export function formatPower(watts: number | null | undefined): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) {
    return '–';
  }
  if (watts === 0) {
    return '0 W';
  }
  const magnitude = Math.abs(watts);
  const [scale, unit] = POWER_UNITS.find(([s]) => magnitude >= s) ?? POWER_UNITS[POWER_UNITS.length - 1];
  const scaled = watts / scale;
  const text = Math.abs(scaled) >= 10 ? String(Math.round(scaled)) : significant(scaled);
  return `${text} ${unit}`;
}
