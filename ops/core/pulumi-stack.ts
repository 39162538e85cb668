/**
 * Getting a stack ready for `npm run up`'s `pulumi up`: the state backend (the repository's
 * `.pulumi-state` unless PULUMI_BACKEND_URL says otherwise), the passphrase (made once, mode 600),
 * and `pulumi stack select --create`. Decisions come from ops/core/pulumi-cli.ts; effects are injected.
 */
import * as path from "node:path";
import { backendDecision, type Env, lastLine, passphraseDecision, pulumiEnv, type Run, STATE_DIR } from "./pulumi-cli";
import { saltConflict } from "./stack-file";

/** The effects {@link prepareStack} needs. */
export interface StackSetupDeps {
  readonly env: Env;
  readonly repoRoot: string;
  /** The folder of the Node that runs fleet (Node 24 from the npm package `node`). */
  readonly nodeDir: string;
  out(line: string): void;
  run: Run;
  isFile(path: string): boolean;
  mkdir(path: string): void;
  /** Creates a new file readable only by its owner (mode 600); fails if it exists. */
  writeSecretFile(path: string, content: string): void;
  randomPassphrase(): string;
}

/**
 * Chooses the backend, finds or makes the passphrase, and creates or selects `stack` with the CLI
 * at `cliPath`. Returns the environment for every later `pulumi` call, or the line to print when
 * the stack cannot be used (nothing is created after a problem is found).
 */
export function prepareStack(
  d: StackSetupDeps,
  stack: string,
  stackFileText: string | null,
  cliPath: string,
): { env: Env } | { problem: string } {
  const backend = backendDecision(d.env, d.repoRoot);
  if (backend.local) d.mkdir(path.join(d.repoRoot, STATE_DIR));
  d.out(`fleet up: state backend ${backend.url}${backend.fromEnv ? " (from PULUMI_BACKEND_URL)" : ""}`);

  const pass = passphraseDecision(d.env, d.repoRoot, d.isFile);
  let passphraseFile: string | undefined;
  if (pass.source === "env-file") {
    if (pass.missing)
      return { problem: `fleet up: PULUMI_CONFIG_PASSPHRASE_FILE points at ${pass.path}, which does not exist.` };
    passphraseFile = pass.path;
  } else if (pass.source === "state-file") {
    passphraseFile = pass.path;
    if (pass.create) {
      // A new random passphrase cannot match a salt made with another one; Pulumi would fail with
      // "incorrect passphrase" after creating the stack (pulumi/pulumi#17759). Say why, first.
      const conflict = saltConflict(stack, stackFileText);
      if (conflict) return { problem: conflict };
      d.mkdir(path.dirname(pass.path));
      d.writeSecretFile(pass.path, d.randomPassphrase() + "\n");
      d.out(
        `fleet up: created ${path.relative(d.repoRoot, pass.path)} (mode 600), the passphrase that encrypts this stack's secrets.\n` +
          "          Back it up: without it the stack's secrets (admin tokens) cannot be decrypted.",
      );
    }
  }
  const env = pulumiEnv(d.env, { backendUrl: backend.url, passphraseFile, cliPath, nodeDir: d.nodeDir });

  const sel = d.run(cliPath, ["stack", "select", stack, "--create"], { env, cwd: d.repoRoot });
  if (sel.status !== 0) {
    const why = lastLine(sel.stderr) || lastLine(sel.stdout);
    const hint = /incorrect passphrase/i.test(why)
      ? `\nThe passphrase does not match the encryptionsalt in Pulumi.${stack}.yaml; use the passphrase the stack was created with (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE).`
      : "";
    return { problem: `fleet up: could not create or select stack ${stack}: ${why}${hint}` };
  }
  return { env };
}
