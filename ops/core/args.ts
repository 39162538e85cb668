/** Argument parsing for every command: node:util parseArgs, errors as usage errors (exit 2); the stack. */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { CliError, EXIT } from "./errors";

/** parseArgs (strict, positionals allowed) with errors turned into CliErrors that carry the usage. */
export function parseCli<T extends ParseArgsOptionsConfig>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${e instanceof Error ? e.message : String(e)}\n${usage}`, EXIT.usage);
  }
}

/** The stack a command works on unless `--stack` says otherwise. */
export const DEFAULT_STACK = "dev";

/** `--stack S` / `--stack=S` from raw arguments (read before parseArgs, to find the stack file). */
export function stackFromArgv(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--stack" && argv[i + 1]) return argv[i + 1] as string;
    if (a.startsWith("--stack=")) return a.slice("--stack=".length);
  }
  return DEFAULT_STACK;
}
