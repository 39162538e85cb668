/** Argument parsing for every command: node:util parseArgs, errors as usage errors (exit 2). */
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
