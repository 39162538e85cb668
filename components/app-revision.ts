import { execFileSync } from "node:child_process";

/**
 * The git tree hash of `dir` at HEAD (`git rev-parse HEAD:<dir>`), or `unknown` outside a git
 * checkout. It names the directory's content, so it is the same in a full clone and in the
 * depth-1 clone CI checks out; `git log -1 -- <dir>` returns HEAD in a depth-1 clone, which would
 * rebuild the image, and roll every instance, on every commit.
 */
export function treeRevision(repo: string, dir: string): string {
  try {
    return execFileSync("git", ["rev-parse", `HEAD:${dir}`], {
      cwd: repo,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}
