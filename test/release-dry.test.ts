import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { runReleaseDry } from "../ops/commands/release-dry";
import { LocalGitScm } from "../ops/core/local-git-scm";
import { currentAppVersion, formatPlan, lastReleaseTag, planRelease } from "../ops/core/release-plan";

const ROOT = resolve(__dirname, "..");
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A throw-away repository with the real release-please config and manifest, and app/ at 1.0.0. */
function repo(): {
  dir: string;
  commit: (message: string, file?: string) => string;
  git: (...args: string[]) => string;
} {
  const dir = mkdtempSync(join(tmpdir(), "fleet-release-dry-"));
  made.push(dir);
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  git("config", "user.email", "dev@example.com");
  git("config", "user.name", "Dev");
  git("config", "commit.gpgsign", "false");
  git("remote", "add", "origin", "https://github.com/acme/fleet.git");
  mkdirSync(join(dir, ".github"));
  mkdirSync(join(dir, "app"));
  for (const f of ["release-please-config.json", ".release-please-manifest.json"])
    copyFileSync(join(ROOT, ".github", f), join(dir, ".github", f));
  writeFileSync(join(dir, "app/package.json"), '{ "name": "fleet-app", "version": "1.0.0" }\n');
  let n = 0;
  const commit = (message: string, file = `app/file-${++n}.txt`) => {
    writeFileSync(join(dir, file), `${message}\n`);
    git("add", "-A");
    git("commit", "-q", "-m", message);
    return git("rev-parse", "HEAD");
  };
  commit("chore: initial import");
  return { dir, commit, git };
}

const link = (sha: string) => `([${sha.slice(0, 7)}](https://github.com/acme/fleet/commit/${sha}))`;

describe("planRelease (release-please's Manifest on the local history)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-03-04T12:00:00Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("feat and fix under app/ since v1.0.0 make 1.1.0; commits outside app/ do not count", async () => {
    const r = repo();
    r.git("tag", "-a", "v1.0.0", "-m", "release 1.0.0"); // annotated: the plan must peel it to the commit
    const feat = r.commit("feat: entries can have tags");
    r.commit("feat: a faster render", "outside.txt");
    const fix = r.commit("fix(backup): keep the newest backup");
    r.commit("docs: explain backups");

    expect(await planRelease(r.dir)).toEqual({
      version: "1.1.0",
      tag: "v1.1.0",
      previousTag: "v1.0.0",
      changelogPath: "app/CHANGELOG.md",
      changelog: [
        "## [1.1.0](https://github.com/acme/fleet/compare/v1.0.0...v1.1.0) (2026-03-04)",
        "",
        "",
        "### Features",
        "",
        `* entries can have tags ${link(feat)}`,
        "",
        "",
        "### Bug Fixes",
        "",
        `* **backup:** keep the newest backup ${link(fix)}`,
      ].join("\n"),
    });
  });

  test("a breaking change makes the next major and gets its own section", async () => {
    const r = repo();
    r.git("tag", "v1.0.0");
    const breaking = r.commit("feat(api)!: drop the v0 routes");
    const plan = await planRelease(r.dir);
    expect(plan?.version).toBe("2.0.0");
    expect(plan?.changelog).toBe(
      [
        "## [2.0.0](https://github.com/acme/fleet/compare/v1.0.0...v2.0.0) (2026-03-04)",
        "",
        "",
        "### ⚠ BREAKING CHANGES",
        "",
        "* **api:** drop the v0 routes",
        "",
        "### Features",
        "",
        `* **api:** drop the v0 routes ${link(breaking)}`,
      ].join("\n"),
    );
  });

  test("only reads history after the newest vX.Y.Z tag", async () => {
    const r = repo();
    r.git("tag", "v1.0.0");
    r.commit("feat: shipped in 1.1.0");
    r.git("tag", "v1.1.0");
    // The manifest says what was released last; release-please matches it to the tag.
    writeFileSync(join(r.dir, ".github/.release-please-manifest.json"), '{ "app": "1.1.0" }\n');
    r.git("commit", "-q", "-am", "chore: release 1.1.0");
    const fix = r.commit("fix: after 1.1.0");
    const plan = await planRelease(r.dir);
    expect(plan?.version).toBe("1.1.1");
    expect(plan?.previousTag).toBe("v1.1.0");
    expect(plan?.changelog).toBe(
      [
        "## [1.1.1](https://github.com/acme/fleet/compare/v1.1.0...v1.1.1) (2026-03-04)",
        "",
        "",
        "### Bug Fixes",
        "",
        `* after 1.1.0 ${link(fix)}`,
      ].join("\n"),
    );
  });

  test("no feat, fix or breaking change: no release", async () => {
    const r = repo();
    r.git("tag", "v1.0.0");
    r.commit("chore: tidy");
    r.commit("docs: more words");
    r.commit("feat: not the app", "outside.txt");
    expect(await planRelease(r.dir)).toBeNull();
  });

  test("before the first tag, the whole history counts, from the manifest's version", async () => {
    const r = repo();
    r.commit("fix: first fix");
    const plan = await planRelease(r.dir);
    expect(plan?.version).toBe("1.0.1");
    expect(plan?.previousTag).toBeNull();
  });
});

describe("formatPlan", () => {
  const plan = {
    version: "1.1.0",
    tag: "v1.1.0",
    previousTag: "v1.0.0",
    changelogPath: "app/CHANGELOG.md",
    changelog: "## [1.1.0](x) (2026-03-04)",
  };

  test("prints the next version and the changelog section", () => {
    expect(formatPlan(plan, "1.0.0", "v1.0.0")).toBe(
      "Next version: 1.1.0 (tag v1.1.0; app/package.json is at 1.0.0; since v1.0.0)\n\napp/CHANGELOG.md would get:\n\n## [1.1.0](x) (2026-03-04)\n",
    );
  });

  test("says why nothing would be released", () => {
    expect(formatPlan(null, "1.0.0", "v1.0.0")).toBe(
      "No release: no commit touching app/ since v1.0.0 is a feat, a fix or a breaking change; app/package.json stays at 1.0.0.\n",
    );
    expect(formatPlan(null, "1.0.0", null)).toBe(
      "No release: no commit touching app/ in the history (no vX.Y.Z tag yet) is a feat, a fix or a breaking change; app/package.json stays at 1.0.0.\n",
    );
  });
});

describe("LocalGitScm", () => {
  test("is read-only: anything that would write to GitHub throws", async () => {
    const scm = new LocalGitScm(repo().dir);
    await expect(scm.createRelease()).rejects.toThrow(
      "release:dry is read-only and offline: it never calls createRelease",
    );
    await expect(scm.createPullRequest()).rejects.toThrow(
      "release:dry is read-only and offline: it never calls createPullRequest",
    );
  });

  test("reads owner and repository from a GitHub origin", () => {
    expect(new LocalGitScm(repo().dir).repository).toEqual({ owner: "acme", repo: "fleet", defaultBranch: "main" });
  });
});

describe("npm run release:dry", () => {
  test("prints the plan as JSON from the repository it runs in", async () => {
    const r = repo();
    r.git("tag", "v1.0.0");
    r.commit("feat: something new");
    const stdout = await new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        ["-r", require.resolve("ts-node/register/transpile-only"), join(ROOT, "ops/commands/release-dry.ts"), "--json"],
        { cwd: r.dir, env: { ...process.env, TS_NODE_PROJECT: join(ROOT, "tsconfig.json") } },
        (err, out) => (err ? fail(err) : done(out)),
      ),
    );
    const plan = JSON.parse(stdout);
    expect({ ...plan, changelog: plan.changelog.split("\n")[0].replace(/\(\d{4}-\d\d-\d\d\)$/, "(DATE)") }).toEqual({
      version: "1.1.0",
      tag: "v1.1.0",
      previousTag: "v1.0.0",
      changelogPath: "app/CHANGELOG.md",
      changelog: "## [1.1.0](https://github.com/acme/fleet/compare/v1.0.0...v1.1.0) (DATE)",
    });
  });
});

describe("runReleaseDry", () => {
  const io = () => {
    const lines: string[] = [];
    return { lines, o: { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) } };
  };

  test("the plan for the terminal: the version app/package.json holds and the newest tag", async () => {
    const r = repo();
    r.git("tag", "v1.0.0");
    r.commit("chore: nothing to release");
    const scm = new LocalGitScm(r.dir);
    expect([await currentAppVersion(scm), await lastReleaseTag(scm)]).toEqual(["1.0.0", "v1.0.0"]);
    const { lines, o } = io();
    expect(await runReleaseDry([], r.dir, o)).toBe(0);
    expect(lines).toEqual([
      "No release: no commit touching app/ since v1.0.0 is a feat, a fix or a breaking change; app/package.json stays at 1.0.0.",
    ]);
  });

  test("an unknown option is a usage error (exit 2) with the usage", async () => {
    const { lines, o } = io();
    expect(await runReleaseDry(["--jsn"], repo().dir, o)).toBe(2);
    expect(lines[0]?.split("\n").slice(-2)).toEqual([
      "Usage: npm run release:dry [-- --json]",
      "Prints the next app version and the changelog section release-please would write, from the local git history.",
    ]);
  });
});
