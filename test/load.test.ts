/**
 * Parsing hey's summary (test/docker/load.ts) on output recorded from hey 0.1.4 (Debian
 * bookworm) against a small local Node server: a clean run, and a run during which the server
 * stopped listening.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseHey } from "./docker/load";

const fixture = (name: string): string => readFileSync(join(__dirname, "fixtures/hey", name), "utf8");

describe("parseHey", () => {
  test("a clean run: every response a 200, no errors", () => {
    const url = "http://127.0.0.1:18977/api/health";
    expect(parseHey(url, fixture("clean.txt"))).toEqual({
      url,
      requests: 40,
      status: { "200": 40 },
      errors: {},
      rps: 39.8855,
    });
  });

  test("connection-refused errors are counted as errors, next to the responses", () => {
    const url = "http://127.0.0.1:18978/api/health";
    expect(parseHey(url, fixture("connection-refused.txt"))).toEqual({
      url,
      requests: 120,
      status: { "200": 42 },
      errors: {
        'Get "http://127.0.0.1:18978/api/health": dial tcp 127.0.0.1:18978: connect: connection refused': 78,
      },
      rps: 39.9563,
    });
  });

  test("non-2xx status codes are kept apart", () => {
    const text = fixture("clean.txt").replace("  [200]\t40 responses", "  [200]\t37 responses\n  [502]\t3 responses");
    expect(parseHey("u", text)).toMatchObject({ requests: 40, status: { "200": 37, "502": 3 }, errors: {} });
  });

  test("output without a summary (hey did not run) is an error that shows the output", () => {
    expect(() => parseHey("http://127.0.0.1:1/", "flag provided but not defined: -bogus\n")).toThrow(
      new Error("load: hey printed no summary for http://127.0.0.1:1/:\nflag provided but not defined: -bogus\n"),
    );
  });
});
