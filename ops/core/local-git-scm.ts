/**
 * A read-only release-please `Scm` over a local git checkout: tags `vX.Y.Z` stand in for GitHub
 * releases and `git log` for the API's commit list, so release-please's own `Manifest` computes
 * the next release offline (ops/core/release-plan.ts).
 *
 * Only release-please's public entry point is imported. `Scm` and the types around it are not
 * exported there, so they are read off the public `Manifest.fromManifest` signature; the file
 * type comes from `Scm` itself rather than from @google-automations/git-file-utils, a package
 * fleet does not declare.
 */
import { execFileSync } from "node:child_process";
import { Errors, type Commit, type Manifest, type PullRequest } from "release-please";
import * as semver from "semver";

/** release-please's source-control interface (`Scm` in its build/src/scm.d.ts). */
export type Scm = Parameters<typeof Manifest.fromManifest>[0];
type Repository = Scm["repository"];
type FileContents = Awaited<ReturnType<Scm["getFileContents"]>>;
type CommitIteratorOptions = Parameters<Scm["mergeCommitIterator"]>[1];
type ReleaseIteratorOptions = Parameters<Scm["releaseIterator"]>[0];
type ScmRelease = Awaited<ReturnType<Scm["createRelease"]>>;
type ScmTag = Scm["tagIterator"] extends (...a: never[]) => AsyncGenerator<infer T, void, void> ? T : never;
type ScmChangeSet = Awaited<ReturnType<Scm["buildChangeSet"]>>;

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

  async getFileContents(path: string): Promise<FileContents> {
    return this.getFileContentsOnBranch(path, this.repository.defaultBranch);
  }

  // The branch is ignored on purpose: a dry run describes the checkout at hand.
  async getFileContentsOnBranch(path: string, _branch: string): Promise<FileContents> {
    let text: string;
    try {
      text = this.git(["show", `HEAD:${path}`]);
    } catch {
      throw new Errors.FileNotFoundError(path);
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
    options?: CommitIteratorOptions,
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
    options?: CommitIteratorOptions,
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
  async *releaseIterator(options?: ReleaseIteratorOptions): AsyncGenerator<ScmRelease, void, void> {
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
