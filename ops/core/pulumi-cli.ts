// The one Pulumi CLI runner of the commands: finding the CLI and the environment fleet's commands
// give it (the local state backend and the passphrase of the passphrase secrets provider). Pure
// decisions; effects are injected (ops/core/effects.ts has the real ones).
import * as path from "node:path";
import * as semver from "semver";
import { CliError, firstLine } from "./errors";

export type Env = Record<string, string | undefined>;

/** What a captured command run returns. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: { code?: string; message?: string };
}

/** Runs a command with captured output. */
export type Run = (cmd: string, args: string[], opts: { env: Env; cwd?: string }) => RunResult;

/** Runs `pulumi ...` on a stack that exists; `stream` sends the output to the terminal instead of capturing it. */
export type PulumiRunner = (args: string[], opts?: { stream?: boolean }) => RunResult;

/** Where the local state backend lives, relative to the repository root (gitignored). */
export const STATE_DIR = ".pulumi-state";

/** The passphrase file that `up` creates when no passphrase is configured. */
export const PASSPHRASE_FILE = path.join(STATE_DIR, "passphrase");

export const INSTALL_HINT = [
  "Install the Pulumi CLI with one of:",
  "  curl -fsSL https://get.pulumi.com | sh        (Linux, macOS; installs into ~/.pulumi/bin)",
  "  brew install pulumi/tap/pulumi                (macOS, Linuxbrew)",
  "  winget install pulumi                         (Windows)",
  "  npx pulumi version                            (the npm package; downloads the CLI into ~/.pulumi/versions)",
  "then run `npm run up` again. See https://www.pulumi.com/docs/iac/download-install/",
].join("\n");

export interface CliCandidate {
  path: string;
  source: string;
}

/** The file system questions {@link pulumiCandidates} asks. */
export interface CliSearch {
  env: Env;
  home: string;
  repoRoot: string;
  isFile(p: string): boolean;
  listDir(p: string): string[];
}

/**
 * Where the Pulumi CLI may be, in the order `up` tries them: PATH, the installer's
 * `~/.pulumi/bin`, the npm package's and Automation API's cache `~/.pulumi/versions/<v>/bin`
 * (newest first), and last the npm package's wrapper `node_modules/.bin/pulumi`, which downloads
 * the CLI on first run (it needs the internet for that).
 */
export function pulumiCandidates(io: CliSearch): CliCandidate[] {
  const exe = process.platform === "win32" ? "pulumi.exe" : "pulumi";
  const out: CliCandidate[] = [];
  const add = (p: string, source: string) => {
    if (!out.some((c) => c.path === p) && io.isFile(p)) out.push({ path: p, source });
  };
  const nodeModulesBin = path.join(io.repoRoot, "node_modules", ".bin");
  for (const dir of (io.env.PATH ?? "").split(path.delimiter)) {
    // npm puts node_modules/.bin on PATH for scripts; that entry is the wrapper, tried last.
    if (dir && path.resolve(dir) !== nodeModulesBin) add(path.join(dir, exe), "PATH");
  }
  const pulumiHome = io.env.PULUMI_HOME || path.join(io.home, ".pulumi");
  add(path.join(pulumiHome, "bin", exe), "~/.pulumi/bin");
  const versions = io
    .listDir(path.join(pulumiHome, "versions"))
    .filter((v) => semver.valid(semver.coerce(v)) !== null && /^v?\d+\.\d+\.\d+/.test(v))
    .sort((a, b) => semver.rcompare(semver.coerce(a) ?? "0.0.0", semver.coerce(b) ?? "0.0.0"));
  for (const v of versions) add(path.join(pulumiHome, "versions", v, "bin", exe), `~/.pulumi/versions/${v}`);
  add(path.join(nodeModulesBin, exe), "npm package pulumi");
  return out;
}

/** A candidate that did not answer `pulumi version`, and why. */
export type TriedCli = CliCandidate & { reason: string };

/** No working Pulumi CLI: every candidate tried, why each failed, and how to install one. */
export class PulumiCliNotFound extends CliError {
  constructor(
    readonly tried: readonly TriedCli[],
    /** The command to run again once a CLI is installed. */
    readonly rerun: string,
  ) {
    super(noCliText(tried, rerun));
  }
}

/** The line `npm run up` prints when no working Pulumi CLI was found. */
export function noCliMessage(tried: readonly TriedCli[]): string {
  return `fleet up: ${noCliText(tried, "npm run up")}`;
}

function noCliText(tried: readonly TriedCli[], rerun: string): string {
  const lines = ["no working Pulumi CLI was found."];
  if (tried.length === 0) {
    lines.push("  Looked on PATH, in ~/.pulumi/bin, ~/.pulumi/versions/*/bin and node_modules/.bin.");
  }
  for (const t of tried) {
    const why = t.source === "npm package pulumi" ? " (it downloads the CLI from get.pulumi.com on first run)" : "";
    lines.push(`  ${t.path} (${t.source}): ${t.reason}${why}`);
  }
  lines.push(INSTALL_HINT.replace("`npm run up`", `\`${rerun}\``));
  return lines.join("\n");
}

/**
 * Chooses the state backend: the user's PULUMI_BACKEND_URL when set, else the repository's
 * own `.pulumi-state` directory.
 */
export function backendDecision(env: Env, repoRoot: string): { url: string; local: boolean; fromEnv: boolean } {
  if (env.PULUMI_BACKEND_URL) return { url: env.PULUMI_BACKEND_URL, local: false, fromEnv: true };
  // file:// URLs take an absolute path; on Windows the drive letter needs a leading slash.
  const abs = path.resolve(repoRoot, STATE_DIR).split(path.sep).join("/");
  return { url: `file://${abs.startsWith("/") ? "" : "/"}${abs}`, local: true, fromEnv: false };
}

export type PassphraseDecision =
  | { source: "env" }
  | { source: "env-file"; path: string; missing: boolean }
  | { source: "state-file"; path: string; create: boolean };

/**
 * Chooses where the passphrase of the passphrase secrets provider comes from.
 * PULUMI_CONFIG_PASSPHRASE wins (even when empty: Pulumi accepts an empty passphrase that is
 * set explicitly), then PULUMI_CONFIG_PASSPHRASE_FILE, then `.pulumi-state/passphrase`, which
 * is created when missing.
 */
export function passphraseDecision(env: Env, repoRoot: string, isFile: (p: string) => boolean): PassphraseDecision {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { source: "env" };
  if (env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    const p = path.resolve(repoRoot, env.PULUMI_CONFIG_PASSPHRASE_FILE);
    return { source: "env-file", path: p, missing: !isFile(p) };
  }
  const p = path.join(repoRoot, PASSPHRASE_FILE);
  return { source: "state-file", path: p, create: !isFile(p) };
}

/**
 * The environment every fleet command gives the Pulumi CLI: the backend, the passphrase file,
 * no update-check round trip, and on PATH first `nodeDir` (the folder of the Node that runs fleet:
 * the language host starts the program with the `node` it finds on PATH, `exec.LookPath("node")`
 * in pulumi-language-nodejs's main.go, and a CLI installed next to an older Node must not win),
 * then the CLI's own directory (the language host `pulumi-language-nodejs` ships next to it).
 */
export function pulumiEnv(
  env: Env,
  o: { backendUrl?: string; passphraseFile?: string; cliPath?: string; nodeDir?: string },
): Env {
  const out: Env = { ...env };
  if (o.backendUrl) out.PULUMI_BACKEND_URL = o.backendUrl;
  if (o.passphraseFile) out.PULUMI_CONFIG_PASSPHRASE_FILE = o.passphraseFile;
  if (out.PULUMI_SKIP_UPDATE_CHECK === undefined) out.PULUMI_SKIP_UPDATE_CHECK = "true";
  const first = [o.nodeDir, o.cliPath && path.isAbsolute(o.cliPath) ? path.dirname(o.cliPath) : undefined];
  const dirs = first.filter((d): d is string => d !== undefined);
  if (dirs.length > 0) out.PATH = [...dirs, env.PATH ?? ""].join(path.delimiter);
  return out;
}

/**
 * Resolves backend and passphrase for the commands that only use an existing stack
 * (`rollback`, `restore`): they never create a passphrase file.
 */
export function existingStackEnv(
  env: Env,
  repoRoot: string,
  isFile: (p: string) => boolean,
): { env: Env; error: string | null } {
  const backend = backendDecision(env, repoRoot);
  const pass = passphraseDecision(env, repoRoot, isFile);
  if (pass.source === "env") return { env: pulumiEnv(env, { backendUrl: backend.url }), error: null };
  if (pass.source === "env-file" && pass.missing) {
    return { env, error: `PULUMI_CONFIG_PASSPHRASE_FILE points at ${pass.path}, which does not exist.` };
  }
  if (pass.source === "state-file" && pass.create) {
    return {
      env,
      error:
        `no passphrase: ${path.relative(repoRoot, pass.path)} does not exist and neither ` +
        "PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set. Deploy first with " +
        "`npm run up`, or set the passphrase the stack was created with.",
    };
  }
  return { env: pulumiEnv(env, { backendUrl: backend.url, passphraseFile: pass.path }), error: null };
}

/**
 * The CLI and its environment for a command that works on a stack `npm run up` made (`rollback`):
 * the first working CLI, the backend and the existing passphrase, the CLI's folder first on PATH.
 * @throws PulumiCliNotFound, or a CliError when there is no passphrase to open the stack
 */
export function existingStackCli(d: CliSearch & { run: Run }, rerun: string): { path: string; env: Env } {
  const { cli, tried } = findPulumi(d);
  if (!cli) throw new PulumiCliNotFound(tried, rerun);
  const stackEnv = existingStackEnv(d.env, d.repoRoot, d.isFile);
  if (stackEnv.error) throw new CliError(stackEnv.error);
  return {
    path: cli.path,
    env: { ...stackEnv.env, PATH: path.dirname(cli.path) + path.delimiter + (d.env.PATH ?? "") },
  };
}

/**
 * Tries each candidate with `pulumi version` and returns the first that works, with the
 * reasons the others failed (the npm wrapper fails here when it cannot download the CLI).
 */
export function findPulumi(d: CliSearch & { run: Run; out?: (line: string) => void }): {
  cli: (CliCandidate & { version: string }) | null;
  tried: TriedCli[];
} {
  const tried: TriedCli[] = [];
  for (const c of pulumiCandidates(d)) {
    if (c.source === "npm package pulumi" && d.out) {
      d.out("fleet up: trying the npm package pulumi, which downloads the CLI on its first run ...");
    }
    const r = d.run(c.path, ["version"], { env: pulumiEnv(d.env, { cliPath: c.path }) });
    if (r.status === 0) return { cli: { ...c, version: firstLine(r.stdout) }, tried };
    // The npm wrapper prints "Downloading pulumi vX..." first and its error last.
    tried.push({
      ...c,
      reason: lastLine(r.stderr) || lastLine(r.stdout) || (r.error ? String(r.error.code) : `exit ${r.status}`),
    });
  }
  return { cli: null, tried };
}

/** The last non-empty line, trimmed. */
export function lastLine(s: string): string {
  return (
    (s || "")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .at(-1) ?? ""
  );
}
