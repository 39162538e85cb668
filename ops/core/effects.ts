/**
 * The real effects behind the commands' injected ones: running a program (output captured, or on
 * the terminal), the file system questions the CLI search asks, and the Pulumi runner of a stack.
 * Commands wire these in `main`; tests pass fakes of the same shapes.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { CliError } from "./errors";
import type { CliSearch, Env, PulumiRunner, Run } from "./pulumi-cli";

/** Whether `p` is a file (false when it cannot be read). */
export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The names in a folder (none when it cannot be read). */
export function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p);
  } catch {
    return [];
  }
}

/** A file's text, or null when it cannot be read. */
export function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return null;
  }
}

function spawn(cmd: string, args: string[], o: { env: Env; cwd: string; timeoutMs?: number }, terminal: boolean) {
  return spawnSync(cmd, args, {
    env: o.env,
    cwd: o.cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...(o.timeoutMs !== undefined ? { timeout: o.timeoutMs } : {}),
    stdio: terminal ? "inherit" : ["ignore", "pipe", "pipe"],
  });
}

/** Runs a program with its output captured; `cwd` unless the call names another folder. */
export function captureRun(cwd: string, timeoutMs?: number): Run {
  return (cmd, args, o) => {
    const r = spawn(
      cmd,
      args,
      { env: o.env, cwd: o.cwd ?? cwd, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
      false,
    );
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
  };
}

/**
 * Runs a program attached to the terminal and returns its exit code (1 when it could not start,
 * after saying why as `fleet <command>: ...`).
 */
export function terminalRun(
  cwd: string,
  command: string,
): (cmd: string, args: string[], o: { env: Env; cwd?: string }) => number {
  return (cmd, args, o) => {
    const r = spawn(cmd, args, { env: o.env, cwd: o.cwd ?? cwd }, true);
    if (r.error) process.stderr.write(`fleet ${command}: could not run ${cmd}: ${r.error.message}\n`);
    return r.status ?? 1;
  };
}

/** Where the CLI search looks on this machine, with `pulumi version` run for real. */
export function realCliSearch(repoRoot: string, timeoutMs?: number): CliSearch & { run: Run } {
  return { env: process.env, home: os.homedir(), repoRoot, isFile, listDir, run: captureRun(repoRoot, timeoutMs) };
}

/**
 * The runner of `pulumi ...` for a stack: the CLI at `cli.path` with `cli.env`, in the repository.
 * @throws CliError when the CLI cannot be started
 */
export function realPulumi(cli: { readonly path: string; readonly env: Env }, repoRoot: string): PulumiRunner {
  return (args, opts) => {
    const r = spawn(cli.path, args, { env: cli.env, cwd: repoRoot }, opts?.stream === true);
    if (r.error) throw new CliError(`could not run ${cli.path}: ${r.error.message}`);
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
}
