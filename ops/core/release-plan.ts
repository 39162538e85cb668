/**
 * The next release of the app, offline: release-please's own `Manifest` (the library inside
 * googleapis/release-please-action) with the repository's `.github/release-please-config.json` and
 * manifest, over the local history ({@link LocalGitScm}). The version and changelog are the ones
 * the release pull request would carry, computed by the same code. Nothing is written.
 */
import { Manifest, setLogger, type Logger } from "release-please";
import { LocalGitScm, type Scm } from "./local-git-scm";

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
  return {
    version,
    tag: `v${version}`,
    previousTag: await lastReleaseTag(scm),
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

/** The newest `vX.Y.Z` tag, or null before the first release. */
export async function lastReleaseTag(scm: Scm): Promise<string | null> {
  for await (const release of scm.releaseIterator({ maxResults: 1 })) return release.tagName;
  return null;
}

/** The version app/package.json holds at HEAD. */
export async function currentAppVersion(scm: Scm): Promise<string> {
  return (JSON.parse((await scm.getFileContents("app/package.json")).parsedContent) as { version: string }).version;
}
