import type { CommandResult, DockerRunner } from "../ops/core/docker";
import type { OffsiteDeps } from "../ops/core/offsite";

/** A command that succeeded and printed `stdout`. */
export const ok = (stdout = ""): CommandResult => ({ status: 0, stdout, stderr: "" });

/**
 * A fake docker runner that answers known argv arrays (exit 1 otherwise) and records every call.
 * An answer may be a function, asked at each call: a fake engine whose state the calls change.
 */
export function fakeDocker(
  answers: [string[], Partial<CommandResult> | (() => Partial<CommandResult>)][],
): DockerRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = ((args: string[]) => {
    calls.push(args);
    const hit = answers.find(([a]) => JSON.stringify(a) === JSON.stringify(args));
    if (!hit) return { status: 1, stdout: "", stderr: `unexpected: docker ${args.join(" ")}` };
    return { status: 0, stdout: "", stderr: "", ...(typeof hit[1] === "function" ? hit[1]() : hit[1]) };
  }) as DockerRunner & { calls: string[][] };
  run.calls = calls;
  return run;
}

/**
 * The effects of a command that runs docker and asks before it changes anything (`restore`,
 * `rollback`), faked. `calls` holds one line per docker call (`docker <argv>`, with `  [streamed]`
 * when its output goes to the terminal) and per question (`confirm <question>`), in order; `out`
 * and `err` hold what the command printed. `answer` answers docker.
 */
export function fakeOps(
  answer: (args: string[]) => CommandResult,
  o: { readonly confirm?: boolean; readonly interactive?: boolean } = {},
): { deps: OffsiteDeps; calls: string[]; out: string[]; err: string[] } {
  const calls: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const deps: OffsiteDeps = {
    docker: (args, opts) => {
      calls.push(`docker ${args.join(" ")}${opts?.stream ? "  [streamed]" : ""}`);
      return answer(args);
    },
    confirm: async (q) => {
      calls.push(`confirm ${q}`);
      return o.confirm ?? true;
    },
    interactive: o.interactive ?? true,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  };
  return { deps, calls, out, err };
}
