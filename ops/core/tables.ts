/**
 * Tables and prompts for every command: one table style (cli-table3, no rules between rows),
 * one yes/no prompt, one rule for `--yes` when nobody can answer.
 */
import Table from "cli-table3";
import { CliError } from "./errors";

/** cli-table3 characters without the rule between rows. */
export const COMPACT = { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" };

/** Renders rows under a header in the commands' one style (no colours: output is often piped). */
export function renderTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const table = new Table({ head: [...head], style: { head: [], border: [] }, chars: COMPACT });
  for (const r of rows) table.push([...r]);
  return table.toString();
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
export async function askYesNo(question: string): Promise<boolean> {
  const readline = await import("node:readline/promises");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** What {@link confirmOrYes} needs. */
export interface Prompt {
  readonly confirm: (question: string) => Promise<boolean>;
  /** Whether a person can answer a question (stdin is a terminal). */
  readonly interactive: boolean;
}

/** Asks unless `--yes`; refuses to guess when nobody can answer. */
export async function confirmOrYes(d: Prompt, yes: boolean, question: string): Promise<boolean> {
  if (yes) return true;
  if (!d.interactive) throw new CliError("stdin is not a terminal, so nobody can confirm; pass --yes to go ahead.");
  return d.confirm(question);
}
