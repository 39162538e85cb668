import { describe, expect, test } from "vitest";
import { toFtsQuery } from "../src/domain/entries";
import { AUTH, createEntry, makeApp } from "./helpers";

describe("search terms (toFtsQuery)", () => {
  test.each([
    ["saison", '"saison"*'],
    ["Citra mosaic", '"citra"* "mosaic"*'],
    ["a", '"a"'],
    ["vitamin c", '"vitamin"* "c"'],
    ["a b c a b c", '"a" "b" "c"'],
    ["hop HOP Hop", '"hop"*'],
    ['x" OR title:* NEAR(', '"x" "or"* "title"* "near"*'],
    ["é ü", '"é" "ü"'],
    ["--- !!!", null],
    [Array.from({ length: 30 }, (_, i) => `w${i}`).join(" "), Array.from({ length: 20 }, (_, i) => `"w${i}"*`).join(" ")],
  ])("%j -> %j", (q, want) => {
    expect(toFtsQuery(q)).toBe(want);
  });

  test("a one-letter word matches that word, not every word that starts with the letter", async () => {
    const { app } = await makeApp();
    await createEntry(app, "vitamin c");
    await createEntry(app, "citra hops");
    const titles = async (q: string) =>
      (await app.inject({ url: `/api/entries?q=${encodeURIComponent(q)}`, headers: AUTH }))
        .json()
        .items.map((e: { title: string }) => e.title);
    expect(await titles("c")).toEqual(["vitamin c"]);
    expect(await titles("ci")).toEqual(["citra hops"]);
    expect(await titles("a b c d e f g h i j k l m n o p q r s t")).toEqual([]);
  });
});
