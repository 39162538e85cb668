// Types for up.cjs, which stays plain JavaScript so that it runs before `npm install`.

export type Env = Record<string, string | undefined>;

/** What a captured command run returns. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: { code?: string; message?: string };
}

/** The effects `runUp` needs; the entry point wires in the real ones, tests pass fakes. */
export interface UpDeps {
  env: Env;
  repoRoot: string;
  home: string;
  nodeVersion: string;
  out(line: string): void;
  err(line: string): void;
  /** Runs a command with captured output. */
  run(cmd: string, args: string[], opts: { env: Env; cwd?: string }): RunResult;
  /** Runs a command attached to the terminal and returns its exit code. */
  runInteractive(cmd: string, args: string[], opts: { env: Env; cwd?: string }): number;
  mtimeMs(path: string): number | null;
  isFile(path: string): boolean;
  listDir(path: string): string[];
  /** The file's text, or null when it cannot be read. */
  readText(path: string): string | null;
  mkdir(path: string): void;
  /** Creates a new file readable only by its owner (mode 600); fails if it exists. */
  writeSecretFile(path: string, content: string): void;
  randomPassphrase(): string;
}

export declare const MIN_NODE_MAJOR: number;
export declare const DEFAULT_STACK: string;
export declare const STATE_DIR: string;
export declare const PASSPHRASE_FILE: string;
export declare const INSTALL_HINT: string;

export declare function parseUpArgs(argv: string[]): { stack: string; upArgs: string[]; help: boolean };
export declare function checkNodeVersion(version: string): string | null;
export declare function installDecision(s: {
  stampMtimeMs: number | null;
  lockMtimeMs: number | null;
}): { command: string[]; reason: string } | null;
export declare function pulumiCandidates(io: {
  env: Env;
  home: string;
  repoRoot: string;
  isFile(p: string): boolean;
  listDir(p: string): string[];
}): { path: string; source: string }[];
export declare function noCliMessage(tried: { path: string; source: string; reason: string }[], rerun?: string): string;
export declare function backendDecision(env: Env, repoRoot: string): { url: string; local: boolean; fromEnv: boolean };
export declare function passphraseDecision(
  env: Env,
  repoRoot: string,
  isFile: (p: string) => boolean,
):
  | { source: "env" }
  | { source: "env-file"; path: string; missing: boolean }
  | { source: "state-file"; path: string; create: boolean };
export declare function pulumiEnv(env: Env, o: { backendUrl?: string; passphraseFile?: string; cliPath?: string }): Env;
export declare function existingStackEnv(
  env: Env,
  repoRoot: string,
  isFile: (p: string) => boolean,
): { env: Env; error: string | null };
export declare function saltConflict(stack: string, stackFileText: string | null): string | null;
export declare function dockerHostOf(stackFileText: string | null): string | null;
export declare function dockerVerdict(r: RunResult): string | null;
export declare function findPulumi(
  d: Pick<UpDeps, "env" | "home" | "repoRoot" | "isFile" | "listDir" | "run"> & { out?: (line: string) => void },
): {
  cli: { path: string; source: string; version: string } | null;
  tried: { path: string; source: string; reason: string }[];
};
/** An app container of the stack with its health, as `npm run up` reports it after a failed roll. */
export interface AppContainerHealth {
  name: string;
  instance: string;
  version: string;
  status: string;
  lastOutput: string;
}
export declare function appContainersArgs(stack: string): string[];
export declare function parseAppContainers(
  stdout: string,
): { id: string; name: string; instance: string; version: string }[];
export declare function parseHealth(stdout: string): { status: string; lastOutput: string };
export declare function failedRollReport(
  stack: string,
  exitCode: number,
  containers: AppContainerHealth[],
): string | null;
export declare function reportFailedRoll(
  d: Pick<UpDeps, "run" | "err">,
  stack: string,
  exitCode: number,
  env: Env,
): void;
export declare function runUp(argv: string[], d: UpDeps): number;
