import type { CommandResult, DockerRunner } from "../ops/core/docker";

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
