/**
 * What `npm run up` reads of `Pulumi.<stack>.yaml` before the Pulumi CLI has selected the stack:
 * the engine to check (`fleet:dockerHost`), whether `fleet:notify` is set, and an `encryptionsalt`
 * that a new passphrase could not open. Raw text, nothing decrypted; the program validates the
 * whole config with the one stack-config reader (components/stack-config.ts) during `pulumi up`.
 */
import { parse as parseYaml } from "yaml";

/** The `config:` map of a stack file's text; empty when there is none or it is not a map. */
function stackFileConfig(stackFileText: string | null): Record<string, unknown> {
  const doc: unknown = stackFileText ? parseYaml(stackFileText) : null;
  const config = doc && typeof doc === "object" ? (doc as { config?: unknown }).config : undefined;
  return config && typeof config === "object" ? (config as Record<string, unknown>) : {};
}

/** `fleet:dockerHost` of the stack file's text; null means the local engine. */
export function stackDockerHost(stackFileText: string | null): string | null {
  const value = stackFileConfig(stackFileText)["fleet:dockerHost"];
  return typeof value === "string" && value !== "" ? value : null;
}

/** Whether the stack file sets `fleet:notify` (encrypted or not); only then is the CLI asked for it. */
export function stackSetsNotify(stackFileText: string | null): boolean {
  return "fleet:notify" in stackFileConfig(stackFileText);
}

/**
 * When `up` is about to make a new passphrase: an `encryptionsalt` already in the stack file was
 * made with another passphrase, so the new one would be refused. Returns the message, or null.
 */
export function saltConflict(stack: string, stackFileText: string | null): string | null {
  if (!stackFileText || !/^encryptionsalt:/m.test(stackFileText)) return null;
  return (
    `fleet up: Pulumi.${stack}.yaml has an encryptionsalt, made with a passphrase this machine does not have\n` +
    "(no PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE or .pulumi-state/passphrase). Either set the passphrase\n" +
    `it was made with, or, to start a new local stack, delete the encryptionsalt line (and any \`secure:\` values) from\n` +
    `Pulumi.${stack}.yaml and run \`npm run up\` again.`
  );
}
