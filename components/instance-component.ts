import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ENV } from "./app-contract";
import { logicalNames } from "./naming";
import type { InstanceSpec } from "./spec";

/** Arguments every target's instance component takes. */
export interface InstanceArgs {
  /** Stack name, part of Docker names and labels. */
  readonly stack: string;
  /** The validated instance file. */
  readonly spec: InstanceSpec;
  /** The version this instance runs: its pin, else the stack's `fleet:version`. */
  readonly version: string;
  /** Image reference of that version (image ID or `repo@sha256:...`). */
  readonly image: pulumi.Input<string>;
  /** Host directory for backups (`<dir>/<name>`); undefined (the default) means a backups volume. */
  readonly backupDir?: string;
  /**
   * DOCKER_HOST for the `docker` CLI of the commands: the endpoint the provider uses (index.ts
   * resolves it, components/docker-endpoint.ts). Undefined (the default) leaves the CLI to choose.
   */
  readonly dockerHost?: string;
  /** Secret environment (values are secrets). `ADMIN_TOKEN` here replaces the generated token. Default none. */
  readonly secretEnv?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Where the backup sidecar sends notifications (`fleet:notify`, a secret; app/src/notify.ts).
   * Default none: the sidecar's inputs are then what they were before notifications existed.
   */
  readonly notify?: pulumi.Input<string>;
  /**
   * Give the app a read-only STATUS_TOKEN for the fleet dashboard (`GET /api/status`). Default false:
   * the app's inputs are then what they were before the dashboard existed.
   */
  readonly statusToken?: boolean;
  /** What the previous rollout wave rolled (containers or services); this instance waits for them. Default none. */
  readonly after?: readonly pulumi.Resource[];
}

/** The outputs of an instance, the same on every target (the stack's `instances` output). */
export interface InstanceOutputs {
  /** Public URL. */
  readonly url: pulumi.Output<string>;
  /** Version the instance runs. */
  readonly version: pulumi.Output<string>;
  /** Image reference the app runs. */
  readonly image: pulumi.Output<string>;
  /** Docker name of the data volume. */
  readonly dataVolume: pulumi.Output<string>;
  /** Where backups land: the backups volume's Docker name, or a host directory. */
  readonly backups: pulumi.Output<string>;
}

/** What a container that sends notifications (app/src/notify.ts) is given; both maps are empty when notifications are off. */
export interface NotifySettings {
  /** Plain variables: the stack the notifications name (`FLEET_STACK`). */
  readonly env: Record<string, string>;
  /** Secret variables: `fleet:notify` (`NOTIFY_URL`). */
  readonly secrets: Record<string, pulumi.Output<string>>;
}

/**
 * The one definition of a notifier's settings. Each target hands the secrets over in its own way:
 * env entries on a plain Docker host (app-instance.ts `notifyEnvs`, also the off-site copier's),
 * Swarm secrets read as `*_FILE` on a swarm (swarm-instance.ts).
 */
export function notifySettings(stack: string, notify: pulumi.Input<string> | undefined): NotifySettings {
  return notify === undefined
    ? { env: {}, secrets: {} }
    : { env: { [ENV.stack]: stack }, secrets: { [ENV.notifyUrl]: pulumi.secret(notify) } };
}

/** An instance component of either target: its outputs, set and registered last by {@link finish}. */
export abstract class InstanceComponent extends pulumi.ComponentResource implements InstanceOutputs {
  public readonly url!: pulumi.Output<string>;
  public readonly version!: pulumi.Output<string>;
  public readonly image!: pulumi.Output<string>;
  public readonly dataVolume!: pulumi.Output<string>;
  public readonly backups!: pulumi.Output<string>;

  /** The app's read-only STATUS_TOKEN (a generated secret) when `args.statusToken` is set, else undefined. */
  protected createStatusToken(name: string, args: InstanceArgs): pulumi.Output<string> | undefined {
    if (args.statusToken !== true) return undefined;
    const token = new random.RandomPassword(
      logicalNames(name).statusToken,
      { length: 32, special: false },
      { parent: this },
    );
    return pulumi.secret(token.result);
  }

  /** Sets the outputs and registers them; the last call of a subclass's constructor. */
  protected finish(outputs: InstanceOutputs): void {
    Object.assign(this, outputs);
    this.registerOutputs({ ...outputs });
  }
}
