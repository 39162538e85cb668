/**
 * The commands' one error and exit-code convention. A {@link CliError} is a message for the
 * operator (what is wrong and the fix), printed as `fleet <command>: <message>` without a stack
 * trace; anything else is a bug and keeps its stack trace.
 */

/** Exit codes of every `npm run` command. */
export const EXIT = {
  /** Done; for `status` and `doctor`: everything is as it should be. */
  ok: 0,
  /** A problem the message names (a CliError), or `status`/`doctor` found something off. */
  problem: 1,
  /** The arguments were wrong; the usage was printed. */
  usage: 2,
} as const;

/** A user-facing error: printed as one message, no stack trace. */
export class CliError extends Error {
  override readonly name: string = "CliError";
  constructor(
    message: string,
    /** The exit code, {@link EXIT.problem} unless the arguments were wrong. */
    readonly exitCode: number = EXIT.problem,
  ) {
    super(message);
  }
}

/** Where a command writes (injected, so tests capture it). */
export interface Output {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** The first non-blank line of a command's output, trimmed ("" when there is none). */
export function firstLine(s: string): string {
  return (
    s
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? ""
  );
}

/**
 * Runs a command body: a CliError becomes its message on stderr and its exit code; anything
 * else propagates (a bug).
 */
export async function guard(command: string, o: Pick<Output, "err">, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof CliError) {
      o.err(`fleet ${command}: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

/**
 * The entry point of a command file when it is run as a script (`require.main === module`):
 * runs `main`, sets the exit code, and prints an unexpected error with its stack.
 */
export function runAsScript(command: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fleet ${command}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = EXIT.problem;
    },
  );
}

/** The process's own {@link Output}. */
export const stdio: Output = {
  out: (l) => process.stdout.write(l + "\n"),
  err: (l) => process.stderr.write(l + "\n"),
};
