import perfHooks from "node:perf_hooks";
import { describe, expect, test, vi } from "vitest";
import type { AppContext } from "../src/context";
import { stmt } from "../src/db";
import { TOTAL_CAP } from "../src/domain/entries";
import { countText } from "../src/web/views";
import { AUTH, makeApp } from "./helpers";

/** Inserts `n` entries of type 1 in one transaction (the schema's triggers index them for search). */
function insertMany(ctx: AppContext, n: number, title: (i: number) => string): void {
  const insert = stmt(
    ctx.db,
    `INSERT INTO entries (type_id, state_id, title, description, created_at, updated_at, archived)
     VALUES (1, 1, ?, '', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 0)`,
  );
  ctx.db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(title(i));
  })();
}

interface ListBody {
  items: { id: number; title: string }[];
  total: number;
  totalCapped: boolean;
}

describe("list totals are counted up to a cap", () => {
  test("the total is exact up to the cap, then the cap with totalCapped; a page past the cap still knows its next page", async () => {
    const { app, ctx } = await makeApp();
    const list = async (qs: string) => {
      const res = await app.inject({ url: `/api/entries?${qs}`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      const body = res.json<ListBody>();
      return [body.total, body.totalCapped, body.items.length, body.items[0]?.id];
    };
    insertMany(ctx, TOTAL_CAP, (i) => `Batch ${i} saison`);
    expect(TOTAL_CAP).toBe(10_000);
    expect(await list("")).toEqual([10_000, false, 20, 10_000]);
    expect(await list("q=saison")).toEqual([10_000, false, 20, 10_000]);

    insertMany(ctx, 30, (i) => `Late ${i} saison`);
    expect(await list("")).toEqual([10_000, true, 20, 10_030]);
    expect(await list("q=sais")).toEqual([10_000, true, 20, 10_030]);
    expect(await list("q=late")).toEqual([30, false, 20, 10_030]);
    // Past the cap the count reaches offset + limit + 1, so the next page is known exactly.
    expect(await list("offset=10000&limit=20")).toEqual([10_020, true, 20, 30]);
    expect(await list("q=saison&offset=10000&limit=20")).toEqual([10_020, true, 20, 30]);
    expect(await list("offset=10020&limit=20")).toEqual([10_030, false, 10, 10]);
    expect(await list("q=saison&offset=10020&limit=20")).toEqual([10_030, false, 10, 10]);
    expect(await list("offset=20000")).toEqual([10_030, false, 0, undefined]);
  });

  test("the list page shows a capped count as 10,000+ and keeps a Next link", async () => {
    const { app, ctx } = await makeApp();
    insertMany(ctx, TOTAL_CAP + 1, (i) => `Batch ${i}`);
    const html = (await app.inject({ url: "/", headers: AUTH })).body;
    expect(html).toContain('<span data-testid="count">1–20 of 10,000+</span>');
    expect(html).toContain('<a href="/?page=2" rel="next">Next</a>');
    expect([countText({ total: 25, totalCapped: false }), countText({ total: 1234, totalCapped: false })]).toEqual(["25", "1,234"]);
  });
});

describe("list queries walk an index in id order", () => {
  test("every combination of filters returns exactly the matching entries, newest first, paged", async () => {
    const { app } = await makeApp();
    const post = async (url: string, payload: object) => {
      const res = await app.inject({ method: "POST", url, headers: AUTH, payload });
      expect(res.statusCode).toBe(201);
      return res.json<{ id: number; states: { id: number; open: boolean }[] }>();
    };
    const recipe = await post("/api/types", {
      key: "recipe",
      singular: "Recipe",
      plural: "Recipes",
      states: [
        { name: "Draft", color: "#888888", open: true },
        { name: "Final", color: "#2e8b57", open: false },
      ],
    });
    const types = [
      { id: 1, states: [1, 2, 3] },
      { id: recipe.id, states: recipe.states.map((s) => s.id) },
    ];
    const openStates = new Set([1, 2, recipe.states[0]!.id]);
    const all: { id: number; type: number; state: number; archived: boolean; hop: boolean }[] = [];
    for (let i = 0; i < 60; i++) {
      const t = types[i % 2]!;
      const state = t.states[i % t.states.length]!;
      const hop = i % 4 === 0;
      const e = await post("/api/entries", { typeId: t.id, stateId: state, title: `Entry ${i}${hop ? " hoppy" : ""}` });
      const archived = i % 5 === 0;
      if (archived) {
        const res = await app.inject({ method: "PATCH", url: `/api/entries/${e.id}`, headers: AUTH, payload: { archived: true } });
        expect(res.statusCode).toBe(200);
      }
      all.push({ id: e.id, type: t.id, state, archived, hop });
    }
    const cases: { qs: Record<string, string>; keep: (e: (typeof all)[number]) => boolean }[] = [];
    for (const archived of ["false", "true", "all"]) {
      for (const type of [undefined, 1, recipe.id]) {
        for (const state of [undefined, 2, recipe.states[1]!.id]) {
          for (const open of [undefined, "true", "false"]) {
            for (const q of [undefined, "hop"]) {
              const qs: Record<string, string> = { archived, limit: "7", offset: "2" };
              if (type !== undefined) qs.type = String(type);
              if (state !== undefined) qs.state = String(state);
              if (open !== undefined) qs.open = open;
              if (q !== undefined) qs.q = q;
              cases.push({
                qs,
                keep: (e) =>
                  (archived === "all" || e.archived === (archived === "true")) &&
                  (type === undefined || e.type === type) &&
                  (state === undefined || e.state === state) &&
                  (open === undefined || openStates.has(e.state) === (open === "true")) &&
                  (q === undefined || e.hop),
              });
            }
          }
        }
      }
    }
    expect(cases.length).toBe(162);
    for (const c of cases) {
      const res = await app.inject({ url: `/api/entries?${new URLSearchParams(c.qs).toString()}`, headers: AUTH });
      const body = res.json<ListBody>();
      const want = all
        .filter(c.keep)
        .map((e) => e.id)
        .sort((a, b) => b - a);
      expect([c.qs, body.total, body.totalCapped, body.items.map((e) => e.id)]).toEqual([c.qs, want.length, false, want.slice(2, 9)]);
    }
  });
});

describe("idle CPU", () => {
  test("the event-loop delay monitor samples once a second, not every 10 ms, and its metrics stay", async () => {
    const monitor = vi.spyOn(perfHooks, "monitorEventLoopDelay");
    try {
      const { app } = await makeApp();
      expect(monitor.mock.calls).toEqual([[{ resolution: 1000 }]]);
      const lines = (await app.inject({ url: "/metrics", headers: AUTH })).body.split("\n");
      expect(lines.filter((l) => l.startsWith("# TYPE fleet_nodejs_eventloop_lag"))).toEqual([
        "# TYPE fleet_nodejs_eventloop_lag_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_min_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_max_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_mean_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_stddev_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_p50_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_p90_seconds gauge",
        "# TYPE fleet_nodejs_eventloop_lag_p99_seconds gauge",
      ]);
    } finally {
      monitor.mockRestore();
    }
  });
});
