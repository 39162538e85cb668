import { describe, expect, test } from "vitest";
import { planRollout, type RolloutInput } from "../components/plan";

const i = (name: string, wave = 0, canary = false): RolloutInput => ({ name, rollout: { wave, canary } });

describe("planRollout", () => {
  test.each<[string, RolloutInput[], ReturnType<typeof planRollout>]>([
    ["no instances", [], { waves: [], order: [], after: {} }],
    [
      "one wave",
      [i("b"), i("a")],
      { waves: [{ label: "wave 0", instances: ["a", "b"] }], order: ["a", "b"], after: { a: [], b: [] } },
    ],
    [
      "waves in ascending order, gaps skipped",
      [i("c", 5), i("a", 0), i("b", 2), i("d", 2)],
      {
        waves: [
          { label: "wave 0", instances: ["a"] },
          { label: "wave 2", instances: ["b", "d"] },
          { label: "wave 5", instances: ["c"] },
        ],
        order: ["a", "b", "d", "c"],
        after: { a: [], b: ["a"], d: ["a"], c: ["b", "d"] },
      },
    ],
    [
      "canaries go first, whatever their wave",
      [i("web", 0), i("canary-1", 3, true), i("api", 1), i("canary-0", 0, true)],
      {
        waves: [
          { label: "canary", instances: ["canary-0", "canary-1"] },
          { label: "wave 0", instances: ["web"] },
          { label: "wave 1", instances: ["api"] },
        ],
        order: ["canary-0", "canary-1", "web", "api"],
        after: { "canary-0": [], "canary-1": [], web: ["canary-0", "canary-1"], api: ["web"] },
      },
    ],
    [
      "only canaries",
      [i("x", 0, true)],
      { waves: [{ label: "canary", instances: ["x"] }], order: ["x"], after: { x: [] } },
    ],
  ])("%s", (_label, input, plan) => {
    expect(planRollout(input)).toEqual(plan);
  });
});
