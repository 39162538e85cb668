import { describe, expect, test } from "vitest";
import { AUTH, createEntry, makeApp } from "./helpers";

type App = Awaited<ReturnType<typeof makeApp>>["app"];

const call = async (app: App, method: "GET" | "POST" | "PATCH" | "DELETE", url: string, payload?: unknown) => {
  const res = await app.inject({ method, url, headers: AUTH, ...(payload === undefined ? {} : { payload: payload as object }) });
  return [res.statusCode, res.body === "" ? null : res.json()] as const;
};

describe("JSON API: type deletion, state order and default, relationship definitions", () => {
  test("states: move, default, delete with the in-use and last-state refusals", async () => {
    const { app } = await makeApp();
    expect(await call(app, "POST", "/api/states/3/move", { direction: "up" })).toEqual([
      200,
      { id: 3, typeId: 1, name: "Done", color: "#2e8b57", open: false, position: 1 },
    ]);
    expect(await call(app, "POST", "/api/states/3/move", { direction: "left" })).toEqual([
      400,
      { statusCode: 400, error: "Bad Request", message: "direction: must be up or down", field: "direction" },
    ]);
    expect(await call(app, "PATCH", "/api/types/1", { defaultStateId: 99 })).toEqual([
      400,
      {
        statusCode: 400,
        error: "Bad Request",
        message: "defaultStateId: state 99 does not belong to entry type 1",
        field: "defaultStateId",
      },
    ]);
    const [, typed] = await call(app, "PATCH", "/api/types/1", { defaultStateId: 2 });
    expect([typed.defaultStateId, typed.states.map((s: { name: string }) => s.name)]).toEqual([2, ["Open", "Done", "In progress"]]);
    await createEntry(app, "in progress");
    expect(await call(app, "DELETE", "/api/states/2")).toEqual([
      409,
      { statusCode: 409, error: "Conflict", message: "state In progress is in use by 1 entry; move it to another state first" },
    ]);
    expect(await call(app, "DELETE", "/api/states/3")).toEqual([204, null]);
    expect(await call(app, "DELETE", "/api/types/1")).toEqual([
      409,
      { statusCode: 409, error: "Conflict", message: "entry type Entry still has 1 entry; delete them or move them to another type first" },
    ]);
  });

  test("relationship definitions: create, link through one, cardinality, delete refused while used", async () => {
    const { app } = await makeApp();
    const [, recipe] = await call(app, "POST", "/api/types", {
      key: "recipe",
      singular: "Recipe",
      plural: "Recipes",
      states: [{ name: "Draft", color: "#888888", open: true }],
    });
    const [status, def] = await call(app, "POST", "/api/relationship-types", {
      fromTypeId: 1,
      toTypeId: recipe.id,
      label: "uses",
      reverseLabel: "used by",
      cardinality: "one-to-one",
    });
    expect([status, def]).toEqual([
      201,
      {
        id: 1,
        fromTypeId: 1,
        fromTypeSingular: "Entry",
        toTypeId: 2,
        toTypeSingular: "Recipe",
        label: "uses",
        reverseLabel: "used by",
        cardinality: "one-to-one",
      },
    ]);
    const [, r] = await call(app, "POST", "/api/entries", { typeId: recipe.id, title: "Pale ale" });
    const a = await createEntry(app, "Batch A");
    const b = await createEntry(app, "Batch B");
    const [linked, link] = await call(app, "POST", `/api/entries/${a.id}/relationships`, { typeId: def.id, toEntryId: r.id });
    expect([linked, link.kind, link.typeId, link.reverseLabel]).toEqual([201, "uses", 1, "used by"]);
    expect(await call(app, "POST", `/api/entries/${b.id}/relationships`, { typeId: def.id, toEntryId: r.id })).toEqual([
      409,
      { statusCode: 409, error: "Conflict", message: `entry ${r.id} is already used by one Entry (one-to-one); remove that link first` },
    ]);
    expect(await call(app, "POST", `/api/entries/${r.id}/relationships`, { typeId: def.id, toEntryId: b.id })).toEqual([
      400,
      {
        statusCode: 400,
        error: "Bad Request",
        message: `typeId: relationship uses starts at an entry of type Entry, and entry ${r.id} is of another type`,
        field: "typeId",
      },
    ]);
    expect(await call(app, "POST", `/api/entries/${b.id}/relationships`, { kind: "uses", typeId: def.id, toEntryId: r.id })).toEqual([
      400,
      { statusCode: 400, error: "Bad Request", message: "kind: give either kind or typeId", field: "kind" },
    ]);
    expect(await call(app, "DELETE", `/api/relationship-types/${def.id}`)).toEqual([
      409,
      { statusCode: 409, error: "Conflict", message: "relationship Entry uses Recipe is used by 1 link; remove it first" },
    ]);
    expect(await call(app, "DELETE", `/api/relationships/${link.id}`)).toEqual([204, null]);
    expect(await call(app, "DELETE", `/api/relationship-types/${def.id}`)).toEqual([204, null]);
    expect(await call(app, "DELETE", `/api/types/${recipe.id}`)).toEqual([
      409,
      {
        statusCode: 409,
        error: "Conflict",
        message: "entry type Recipe still has 1 entry; delete them or move them to another type first",
      },
    ]);
  });
});
