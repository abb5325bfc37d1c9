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
  if (magnitude > 0 && magnitude < 1) {
    return String(Number(value.toPrecision(2)));
  }
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

/** Scale a value into the first unit whose threshold it reaches (or the smallest unit). */
function scaled(value: number, units: Array<[number, string]>): string {
  const magnitude = Math.abs(value);
  const [scale, unit] = units.find(([s]) => magnitude >= s) ?? units[units.length - 1];
  return `${significant(value / scale)} ${unit}`;
}

const WH_UNITS: Array<[number, string]> = [
  [1e6, 'MWh'],
  [1e3, 'kWh'],
  [1, 'Wh'],
  [1e-3, 'mWh'],
  [1e-6, 'µWh']
];

const JOULE_UNITS: Array<[number, string]> = [
  [1e9, 'GJ'],
  [1e6, 'MJ'],
  [1e3, 'kJ'],
  [1, 'J'],
  [1e-3, 'mJ']
];

const CARBON_UNITS: Array<[number, string]> = [
  [1e6, 't CO₂e'],
  [1e3, 'kg CO₂e'],
  [1, 'g CO₂e'],
  [1e-3, 'mg CO₂e'],
  [1e-6, 'µg CO₂e']
];

/** The unit family energies are shown in. */
export type EnergyUnit = 'Wh' | 'J';

/** Format an energy given in joules, e.g. 1800 J -> "0.5 Wh", or "1.8 kJ" in joules. */
export function formatEnergy(joules: number | null | undefined, unit: EnergyUnit = 'Wh'): string {
  if (joules === null || joules === undefined || !Number.isFinite(joules)) {
    return '–';
  }
  if (joules === 0) {
    return unit === 'Wh' ? '0 Wh' : '0 J';
  }
  return unit === 'Wh' ? scaled(joules / 3600, WH_UNITS) : scaled(joules, JOULE_UNITS);
}

/** Format emissions given in grams of CO2-equivalent, e.g. 0.0042 -> "4.2 mg CO₂e". */
export function formatCarbon(grams: number | null | undefined): string {
  if (grams === null || grams === undefined || !Number.isFinite(grams)) {
    return '–';
  }
  return grams === 0 ? '0 g CO₂e' : scaled(grams, CARBON_UNITS);
}

/** Format a cost with its currency, keeping two significant digits for tiny amounts. */
export function formatCost(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) {
    return '–';
  }
  const digits =
    Math.abs(amount) >= 0.01 || amount === 0 ? { maximumFractionDigits: 2 } : { maximumSignificantDigits: 2 };
  if (currency && /^[A-Za-z]{3}$/.test(currency)) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency, ...digits }).format(amount);
    } catch {
      // An ISO-looking code the runtime does not know: fall through to the plain form.
    }
  }
  const text = new Intl.NumberFormat(undefined, digits).format(amount);
  return currency ? `${text} ${currency}` : text;
}

/** Format a duration in seconds: "850 ms", "3.1 s", "2 min 5 s", "1 h 2 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    return '–';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${significant(seconds)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
