/** The CLI's one range validator: what it allows, and messages that name the value and the range. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "commander";
import { checkRange, describeRange, rangeOption, seedOption } from "../src/cli/options.js";

test("describeRange says what a range allows", () => {
  assert.equal(describeRange({}), "a number");
  assert.equal(describeRange({ integer: true, min: 1 }), "an integer >= 1");
  assert.equal(describeRange({ above: 0 }), "a number > 0");
  assert.equal(describeRange({ min: 0, max: 1 }), "a number in [0, 1]");
  assert.equal(describeRange({ integer: true, above: 0, max: 9 }), "an integer in (0, 9]");
  assert.equal(describeRange({ max: 5 }), "a number <= 5");
});

test("checkRange and rangeOption accept the range and name what they refuse", () => {
  assert.equal(checkRange("setting seed", 7, { integer: true, min: 0 }), 7);
  assert.throws(() => checkRange("setting seed", 1.5, { integer: true, min: 0 }), {
    message: "setting seed must be an integer >= 0, got 1.5",
  });
  assert.throws(() => checkRange("x", Number.NaN, {}), /x must be a number, got NaN/);
  assert.throws(() => checkRange("x", Number.POSITIVE_INFINITY, { min: 0 }), /got Infinity/);
  const gamma = rangeOption({ min: 0, max: 1 });
  assert.equal(gamma("0.99"), 0.99);
  for (const bad of ["5", "-0.1", "", " ", "abc", "NaN", "1e400"])
    assert.throws(
      () => gamma(bad),
      (e: Error) => e instanceof InvalidArgumentError && e.message.includes(`got "${bad}"`),
    );
  assert.throws(() => seedOption("1.5"), /expected an integer >= 0, got "1.5"/);
  assert.equal(seedOption("0"), 0);
  assert.throws(() => seedOption(String(2 ** 60)), /expected an integer/);
});
