// `npm run release:dry [-- --json]`: the next release of the app, offline, as release-please would
// make it (ops/core/release-plan.ts over the local history, ops/core/local-git-scm.ts). Nothing is
// written and nothing leaves the machine.
import { parseCli } from "../core/args";
import { EXIT, guard, runAsScript, stdio, type Output } from "../core/errors";
import { LocalGitScm } from "../core/local-git-scm";
import { currentAppVersion, formatPlan, lastReleaseTag, planRelease } from "../core/release-plan";

const USAGE =
  "Usage: npm run release:dry [-- --json]\n" +
  "Prints the next app version and the changelog section release-please would write, from the local git history.";

/** Runs `npm run release:dry` on the repository at `dir`; returns the exit code. */
export function runReleaseDry(argv: string[], dir: string, d: Output): Promise<number> {
  return guard("release:dry", d, async () => {
    const { values } = parseCli(
      argv,
      { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
      USAGE,
    );
    if (values.help) {
      d.out(USAGE);
      return EXIT.ok;
    }
    const plan = await planRelease(dir);
    if (values.json) {
      d.out(JSON.stringify(plan, null, 2));
      return EXIT.ok;
    }
    const scm = new LocalGitScm(dir);
    // formatPlan ends with a newline of its own.
    d.out(formatPlan(plan, await currentAppVersion(scm), await lastReleaseTag(scm)).replace(/\n$/, ""));
    return EXIT.ok;
  });
}

if (require.main === module) {
  runAsScript("release:dry", () => runReleaseDry(process.argv.slice(2), process.cwd(), stdio));
}
