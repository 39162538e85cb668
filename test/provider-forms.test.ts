/**
 * Inputs in the form the docker provider reads back: each expected value is what Go prints
 * (time.Duration.String, big.Rat.FloatString via the provider's nanoInt64ToDecimalString).
 */
import { describe, expect, test } from "vitest";
import {
  cpusString,
  durationNanos,
  goDuration,
  memoryInputs,
  nanoCpusToDecimalString,
  parseCpus,
  shortDuration,
} from "../components/provider-forms";

describe("goDuration (Go's time.Duration.String)", () => {
  test.each([
    ["5s", "5s"],
    ["60s", "1m0s"],
    ["90s", "1m30s"],
    ["1500ms", "1.5s"],
    ["500ms", "500ms"],
    ["1000ms", "1s"],
    ["2m", "2m0s"],
    ["1h", "1h0m0s"],
    ["3601s", "1h0m1s"],
    ["1m30s", "1m30s"],
    ["1.5s", "1.5s"],
    ["0s", "0s"],
    ["1ms", "1ms"],
    ["1500us", "1.5ms"],
    ["1µs", "1µs"],
    ["1500ns", "1.5µs"],
    ["7ns", "7ns"],
    ["61001ms", "1m1.001s"],
  ])("%s -> %s", (input, expected) => {
    expect(goDuration(input)).toBe(expected);
  });

  test("a canonical form is a fixed point", () => {
    for (const d of ["1m0s", "1.5s", "1h0m0s", "500ms", "1m1.001s"]) expect(goDuration(d)).toBe(d);
  });

  test("durationNanos sums the parts", () => {
    expect(durationNanos("1h2m3.5s")).toBe(3_723_500_000_000n);
  });

  test("a text that is not a duration is refused with the fix", () => {
    expect(() => goDuration("10")).toThrow('not a duration: "10" (use a number and a unit: ms, s, m or h)');
  });
});

describe("shortDuration (a swarm service's durations: the provider's shortDur)", () => {
  test.each([
    ["2s", "2s"],
    ["60s", "1m"],
    ["90s", "1m30s"],
    ["1h", "1h"],
    ["3600s", "1h"],
    ["61m", "1h1m"],
    ["1500ms", "1.5s"],
    ["0s", "0s"],
  ])("%s -> %s", (input, expected) => {
    expect(shortDuration(input)).toBe(expected);
  });
});

describe("cpus (the provider's nanoInt64ToDecimalString)", () => {
  test.each([
    [0, "0"],
    [1_000_000_000, "1.0"],
    [500_000_000, "0.5"],
    [1_500_000_000, "1.5"],
    [250_000_000, "0.25"],
    [2_000_000_000, "2.0"],
    [10_000_000_000, "10."],
    [11_000_000_000, "11.0"],
    [64_000_000_000, "64.0"],
    [50_000_000, "0.1"],
    [10_000_000, "0.0"],
    [123_456_789, "0.123456789"],
  ])("%d nano-CPUs read back as %s", (nano, expected) => {
    expect(nanoCpusToDecimalString(BigInt(nano))).toBe(expected);
  });

  test.each([
    [0.5, "0.5"],
    [1, "1.0"],
    [1.5, "1.5"],
    [2, "2.0"],
    [0.25, "0.25"],
    [0.1, "0.1"],
    [10, "10."],
    [20, "20."],
    [64, "64.0"],
    [0.75, "0.75"],
  ])("cpusString(%s) = %s, and Docker parses it back to the same limit", (cpus, expected) => {
    expect(cpusString(cpus)).toBe(expected);
    expect(parseCpus(expected)).toBe(parseCpus(String(cpus)));
  });

  test.each([
    [
      0.05,
      "0.05 CPUs cannot be kept by the docker provider: it reads back as 0.1, so every up would replace the container; use 0.1 or a value with two decimals such as 0.25",
    ],
    [
      0.01,
      "0.01 CPUs cannot be kept by the docker provider: it reads back as 0.0, so every up would replace the container; use 0.1 or a value with two decimals such as 0.25",
    ],
    [0.1234567891, "0.1234567891 CPUs is too precise (at most 9 decimals)"],
  ])("cpusString(%s) is refused: %s", (cpus, message) => {
    expect(() => cpusString(cpus)).toThrow(message);
  });
});

describe("memoryInputs", () => {
  test("memorySwap equals memory (no swap), so moby does not store 2 x memory", () => {
    expect(memoryInputs(256)).toEqual({ memory: 256, memorySwap: 256 });
  });
});
