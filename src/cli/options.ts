/**
 * Validation of the CLI's values in one place: a range (integer or not, bounds) checked the same way
 * for a commander option (`--gamma 5`), a `--set key=value` setting and a value read from a file,
 * each error one line naming the option, the value and what is allowed.
 */
import { InvalidArgumentError } from "commander";

export interface Range {
  /** Whole numbers only. */
  integer?: boolean;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Values must be above this (exclusive). */
  above?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
}

/** "an integer >= 1", "a number in [0, 1]", "a number > 0": what a range allows, for messages. */
export function describeRange(range: Range): string {
  const kind = range.integer ? "an integer" : "a number";
  const low =
    range.above !== undefined ? `(${range.above}` : range.min !== undefined ? `[${range.min}` : null;
  if (low !== null && range.max !== undefined) return `${kind} in ${low}, ${range.max}]`;
  if (range.above !== undefined) return `${kind} > ${range.above}`;
  if (range.min !== undefined) return `${kind} >= ${range.min}`;
  if (range.max !== undefined) return `${kind} <= ${range.max}`;
  return kind;
}

/** Whether `value` lies in `range` (finite, whole where asked). */
export function inRange(value: number, range: Range): boolean {
  if (!Number.isFinite(value)) return false;
  if (range.integer && !Number.isSafeInteger(value)) return false;
  if (range.min !== undefined && value < range.min) return false;
  if (range.above !== undefined && value <= range.above) return false;
  if (range.max !== undefined && value > range.max) return false;
  return true;
}

/** `value`, or an error "NAME must be RANGE, got VALUE" (NAME: an option, a setting, a file's field). */
export function checkRange(name: string, value: number, range: Range): number {
  if (!inRange(value, range)) throw new RangeError(`${name} must be ${describeRange(range)}, got ${value}`);
  return value;
}

/** Text to a number: "" and words are NaN (Number("") would be 0). */
function parseNumber(value: string): number {
  return value.trim() === "" ? Number.NaN : Number(value);
}

/**
 * A commander option parser for numbers in `range`; commander's message names the option:
 * `option '--gamma <x>' argument '5' is invalid. expected a number in [0, 1], got "5"`.
 */
export function rangeOption(range: Range): (value: string) => number {
  return (value) => {
    const n = parseNumber(value);
    if (!inRange(n, range))
      throw new InvalidArgumentError(`expected ${describeRange(range)}, got "${value}"`);
    return n;
  };
}

export const intOption = rangeOption({ integer: true });
export const nonNegativeIntOption = rangeOption({ integer: true, min: 0 });
export const positiveIntOption = rangeOption({ integer: true, min: 1 });
export const numberOption = rangeOption({});
export const nonNegativeNumberOption = rangeOption({ min: 0 });
export const positiveNumberOption = rangeOption({ above: 0 });
/** Random seeds: whole numbers a generator takes exactly. */
export const seedOption = rangeOption({ integer: true, min: 0 });
