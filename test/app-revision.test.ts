/**
 * The image revision in a real depth-1 clone (what actions/checkout makes): the tree hash of
 * app/ equals the full checkout's, while `git log -1 -- app` there names HEAD.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";
import { treeRevision } from "../components/app-revision";

const ROOT = path.resolve(__dirname, "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-revision-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

test("a depth-1 clone gives the same app/ revision as the full checkout", () => {
  const clone = path.join(tmp, "shallow");
  git(tmp, "clone", "--quiet", "--depth", "1", `file://${ROOT}`, clone);
  expect(git(clone, "rev-parse", "--is-shallow-repository")).toBe("true");
  const full = treeRevision(ROOT, "app");
  expect(full).toBe(git(ROOT, "rev-parse", "HEAD:app"));
  expect(full).toMatch(/^[0-9a-f]{40}$/);
  expect(treeRevision(clone, "app")).toBe(full);
  // What the program used before: in the shallow clone it is HEAD, whatever changed.
  expect(git(clone, "log", "-1", "--format=%H", "--", "app")).toBe(git(clone, "rev-parse", "HEAD"));
});

test("outside a git checkout the revision is unknown", () => {
  expect(treeRevision(tmp, "app")).toBe("unknown");
});
