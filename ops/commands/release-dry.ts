/**
 * `npm run release:dry [-- --json]`: the next release of the app, offline.
 *
 * It drives release-please's own `Manifest` (the library inside googleapis/release-please-action)
 * with the repository's `.github/release-please-config.json` and manifest, against the local git
 * history instead of the GitHub API: tags `vX.Y.Z` stand in for GitHub releases and `git log`
 * for the API's commit list. So the version and changelog it prints are the ones the release pull
 * request would carry, computed by the same code. Nothing is written and nothing leaves the machine.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { Manifest, setLogger, type Commit, type Logger } from "release-please";
import { FileNotFoundError } from "release-please/build/src/errors";
import type { PullRequest } from "release-please/build/src/pull-request";
import type { Repository } from "release-please/build/src/repository";
import type { Scm, ScmChangeSet, ScmCommitIteratorOptions, ScmRelease, ScmTag } from "release-please/build/src/scm";
import type { GitHubFileContents } from "@google-automations/git-file-utils";
import * as semver from "semver";

/** Where release.yml keeps release-please's configuration (the repository's top level stays clean). */
export const CONFIG_FILE = ".github/release-please-config.json";
/** The released version of each package path, kept by release-please. */
export const MANIFEST_FILE = ".github/.release-please-manifest.json";

/** What the next release would be. */
export interface ReleasePlan {
  /** The version the release pull request would set in app/package.json. */
  readonly version: string;
  /** The tag merging it would create. */
  readonly tag: string;
  /** The newest `vX.Y.Z` tag the history was read from, or null before the first release. */
  readonly previousTag: string | null;
  /** The section release-please would prepend to the changelog. */
  readonly changelog: string;
  /** The changelog file, relative to the repository. */
  readonly changelogPath: string;
}

const RELEASE_TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/**
 * A read-only `Scm` over a local git checkout (its HEAD). Every method that would write to GitHub
 * throws, so a dry run can never change anything.
 */
export class LocalGitScm implements Scm {
  readonly repository: Repository;

  constructor(
    private readonly dir: string,
    repository?: Repository,
  ) {
    this.repository = repository ?? { ...githubRepository(dir), defaultBranch: "main" };
  }

  private git(args: string[]): string {
    return execFileSync("git", args, {
      cwd: this.dir,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  async getFileContents(path: string): Promise<GitHubFileContents> {
    return this.getFileContentsOnBranch(path, this.repository.defaultBranch);
  }

  // The branch is ignored on purpose: a dry run describes the checkout at hand.
  async getFileContentsOnBranch(path: string, _branch: string): Promise<GitHubFileContents> {
    let text: string;
    try {
      text = this.git(["show", `HEAD:${path}`]);
    } catch {
      throw new FileNotFoundError(path);
    }
    return {
      sha: this.git(["rev-parse", `HEAD:${path}`]).trim(),
      content: Buffer.from(text).toString("base64"),
      parsedContent: text,
      mode: "100644",
    };
  }

  async getFileJson<T>(path: string, branch: string): Promise<T> {
    return JSON.parse((await this.getFileContentsOnBranch(path, branch)).parsedContent) as T;
  }

  private files(): string[] {
    return this.git(["ls-tree", "-r", "--name-only", "HEAD"]).split("\n").filter(Boolean);
  }

  async findFilesByFilename(filename: string, prefix?: string): Promise<string[]> {
    return this.findFilesByFilenameAndRef(filename, "HEAD", prefix);
  }

  async findFilesByFilenameAndRef(filename: string, _ref: string, prefix?: string): Promise<string[]> {
    const base = prefix ? `${prefix.replace(/\/$/, "")}/` : "";
    return this.files()
      .filter((f) => f.startsWith(base) && (f === `${base}${filename}` || f.endsWith(`/${filename}`)))
      .map((f) => f.slice(base.length));
  }

  async findFilesByGlob(glob: string, prefix?: string): Promise<string[]> {
    return this.findFilesByGlobAndRef(glob, "HEAD", prefix);
  }

  async findFilesByGlobAndRef(glob: string, _ref: string, prefix?: string): Promise<string[]> {
    const base = prefix ? `${prefix.replace(/\/$/, "")}/` : "";
    return this.git(["ls-tree", "-r", "--name-only", "HEAD", "--", `:(glob)${base}${glob}`])
      .split("\n")
      .filter(Boolean)
      .map((f) => f.slice(base.length));
  }

  async findFilesByExtension(extension: string, prefix?: string): Promise<string[]> {
    return this.findFilesByExtensionAndRef(extension, "HEAD", prefix);
  }

  async findFilesByExtensionAndRef(extension: string, ref: string, prefix?: string): Promise<string[]> {
    return this.findFilesByGlobAndRef(`**/*.${extension}`, ref, prefix);
  }

  async commitsSince(
    targetBranch: string,
    filter: (commit: Commit) => boolean,
    options?: ScmCommitIteratorOptions,
  ): Promise<Commit[]> {
    const out: Commit[] = [];
    for await (const commit of this.mergeCommitIterator(targetBranch, options)) {
      if (filter(commit)) break;
      out.push(commit);
    }
    return out;
  }

  /** Commits of HEAD, newest first, with the files each one touched (release-please filters by path). */
  async *mergeCommitIterator(
    _targetBranch: string,
    options?: ScmCommitIteratorOptions,
  ): AsyncGenerator<Commit, void, void> {
    const max = options?.maxResults ?? Number.MAX_SAFE_INTEGER;
    const log = this.git(["log", "--no-color", "--name-only", "--format=%x1e%H%x1f%B%x1f", "HEAD"]);
    let n = 0;
    for (const record of log.split("\x1e").slice(1)) {
      if (n++ >= max) return;
      const [sha = "", message = "", files = ""] = record.split("\x1f");
      yield { sha, message: message.trim(), files: files.split("\n").filter(Boolean) };
    }
  }

  // Offline there are no pull requests; release-please then reads plain commits.
  async *pullRequestIterator(): AsyncGenerator<PullRequest, void, void> {}

  /** `vX.Y.Z` tags, newest version first, as if each were a GitHub release. */
  async *releaseIterator(options?: { maxResults?: number }): AsyncGenerator<ScmRelease, void, void> {
    const tags = (await this.allTags())
      .filter((t) => RELEASE_TAG.test(t.name))
      .sort((a, b) => semver.rcompare(a.name, b.name));
    let id = 0;
    for (const tag of tags.slice(0, options?.maxResults ?? tags.length)) {
      yield { id: ++id, name: tag.name, tagName: tag.name, sha: tag.sha, notes: "", url: "" };
    }
  }

  async *tagIterator(): AsyncGenerator<ScmTag, void, void> {
    yield* await this.allTags();
  }

  private async allTags(): Promise<ScmTag[]> {
    return this.git(["for-each-ref", "--format=%(refname:short)%00%(objectname)%00%(*objectname)", "refs/tags"])
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [name = "", object = "", peeled = ""] = line.split("\0");
        // Annotated tags point at a tag object; releases are keyed by the commit.
        return { name, sha: peeled || object };
      });
  }

  private readOnly(what: string): never {
    throw new Error(`release:dry is read-only and offline: it never calls ${what}`);
  }

  async createPullRequest(): Promise<PullRequest> {
    return this.readOnly("createPullRequest");
  }
  async updatePullRequest(): Promise<PullRequest> {
    return this.readOnly("updatePullRequest");
  }
  async getPullRequest(): Promise<PullRequest> {
    return this.readOnly("getPullRequest");
  }
  async createRelease(): Promise<ScmRelease> {
    return this.readOnly("createRelease");
  }
  async commentOnIssue(): Promise<string> {
    return this.readOnly("commentOnIssue");
  }
  async removeIssueLabels(): Promise<void> {
    return this.readOnly("removeIssueLabels");
  }
  async addIssueLabels(): Promise<void> {
    return this.readOnly("addIssueLabels");
  }
  async generateReleaseNotes(): Promise<string> {
    return this.readOnly("generateReleaseNotes");
  }
  async createFileOnNewBranch(): Promise<string> {
    return this.readOnly("createFileOnNewBranch");
  }
  async buildChangeSet(): Promise<ScmChangeSet> {
    return this.readOnly("buildChangeSet");
  }
}

/** owner/repo from the `origin` remote when it is on GitHub; placeholders otherwise (offline clones). */
export function githubRepository(dir: string): { owner: string; repo: string } {
  let url = "";
  try {
    url = execFileSync("git", ["remote", "get-url", "origin"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    // no origin
  }
  const m = /github\.com[:/]([^/]+)\/(.+?)(?:\.git)?$/.exec(url);
  return m ? { owner: m[1] as string, repo: m[2] as string } : { owner: "OWNER", repo: "fleet" };
}

const silent: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} };

/**
 * Computes the next release of the repository at `dir` with release-please, offline.
 * Returns null when no commit since the last release would release anything.
 */
export async function planRelease(dir: string, scm: Scm = new LocalGitScm(dir)): Promise<ReleasePlan | null> {
  setLogger(silent);
  const config = await scm.getFileJson<{ packages: Record<string, { "changelog-path"?: string }> }>(
    CONFIG_FILE,
    "HEAD",
  );
  const paths = Object.keys(config.packages);
  if (paths.length !== 1)
    throw new Error(
      `${CONFIG_FILE}: release:dry expects one package (the app), found ${paths.length}: ${paths.join(", ")}`,
    );
  const path = paths[0] as string;

  const manifest = await Manifest.fromManifest(scm, scm.repository.defaultBranch, CONFIG_FILE, MANIFEST_FILE);
  const [pr] = await manifest.buildPullRequests();
  if (!pr?.version) return null;
  const [data] = pr.body.releaseData;
  const version = pr.version.toString();
  let previousTag: string | null = null;
  for await (const release of scm.releaseIterator({ maxResults: 1 })) previousTag = release.tagName;
  return {
    version,
    tag: `v${version}`,
    previousTag,
    changelog: (data?.notes ?? "").trim(),
    changelogPath: `${path}/${config.packages[path]?.["changelog-path"] ?? "CHANGELOG.md"}`,
  };
}

/** Renders a plan for the terminal. */
export function formatPlan(plan: ReleasePlan | null, current: string, lastTag: string | null): string {
  if (!plan) {
    const since = lastTag ? `since ${lastTag}` : "in the history (no vX.Y.Z tag yet)";
    return `No release: no commit touching app/ ${since} is a feat, a fix or a breaking change; app/package.json stays at ${current}.\n`;
  }
  const since = plan.previousTag ? `since ${plan.previousTag}` : "no vX.Y.Z tag yet: the whole history";
  return [
    `Next version: ${plan.version} (tag ${plan.tag}; app/package.json is at ${current}; ${since})`,
    "",
    `${plan.changelogPath} would get:`,
    "",
    plan.changelog,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(
      "Usage: npm run release:dry [-- --json]\nPrints the next app version and the changelog section release-please would write, from the local git history.\n",
    );
    return;
  }
  const dir = process.cwd();
  const plan = await planRelease(dir);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  const scm = new LocalGitScm(dir);
  const current = JSON.parse((await scm.getFileContents("app/package.json")).parsedContent).version as string;
  let lastTag: string | null = null;
  for await (const release of scm.releaseIterator({ maxResults: 1 })) lastTag = release.tagName;
  process.stdout.write(formatPlan(plan, current, lastTag));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`release:dry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
