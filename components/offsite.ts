import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envEntry, offsiteHealthArgs, OFFSITE_ENV, offsiteRunArgs } from "./app-contract";
import { CONTAINER_HARDENING, notifyEnvs } from "./app-instance";
import { fleetLabels, offsiteImageTag, offsiteNames } from "./naming";
import { IGNORE_CHANGES, memoryInputs } from "./provider-forms";
import type { OffsiteConfig } from "./spec";

/** One instance whose backups are copied off-site. */
export interface OffsiteInstance {
  /** Instance name: its backups are mounted at `/backups/<name>`. */
  readonly name: string;
  /** Its backups: the backups volume's Docker name, or a host directory when `hostDir` is true. */
  readonly backups: pulumi.Input<string>;
  /** True when `backups` is a host directory (`fleet:backupDir`). */
  readonly hostDir: boolean;
}

/** Arguments of {@link OffsiteCopier}. */
export interface OffsiteCopierArgs {
  /** Stack name, part of Docker names and labels. */
  readonly stack: string;
  /** The validated `fleet:offsite`; its password, SSH key and env values are wrapped as secrets here. */
  readonly config: OffsiteConfig;
  /** Tag of the app image the off-site image is built on, e.g. `fleet-app:1.0.0`. */
  readonly appImageTag: string;
  /** The app image's reference: the build waits for it and runs again when it changes. */
  readonly appImage: pulumi.Input<string>;
  /** Build context holding the off-site Dockerfile, relative to the project. Default `app/offsite`. */
  readonly context?: string;
  /** Instances that take part (files with `backup.offsite: false` are left out). */
  readonly instances: readonly OffsiteInstance[];
  /** Where a failed copy, check or prune is reported (`fleet:notify`, a secret; app/src/notify.ts). */
  readonly notify?: pulumi.Input<string>;
}

/** Seconds a stop waits for a running restic to end and remove its lock before a kill. */
export const OFFSITE_STOP_GRACE_SECONDS = 30;

/**
 * Healthcheck of the off-site container: unhealthy while the last copy round failed or is
 * overdue (`offsite health`, app/src/offsite-cli.ts). Durations in the form the provider reads
 * back (Go's `time.Duration.String()`, components/provider-forms.ts), so a second up sees no diff.
 */
export const OFFSITE_HEALTHCHECK = {
  tests: ["CMD", ...offsiteHealthArgs()],
  interval: "1m0s",
  timeout: "30s",
  startPeriod: "5m0s",
  retries: 1,
};

/**
 * One off-site container per Docker host: the app image plus restic (app/offsite/Dockerfile),
 * with every taking-part instance's backups mounted, copying each new backup into one restic
 * repository, applying the retention and checking the repository weekly (docs/backups.md).
 * One container rather than restic in every backup sidecar: the app image stays within its size
 * goal (restic is about 25 MB), one repository deduplicates across instances, and the off-site
 * credentials live in one container.
 */
export class OffsiteCopier extends pulumi.ComponentResource {
  /** The image the container runs: the built image's ID, or `fleet:offsite.image`. */
  public readonly image: pulumi.Output<string>;
  /** The built image; undefined when `fleet:offsite.image` names one. */
  public readonly imageBuild: docker.Image | undefined;
  /** The restic cache and status volume (a cache: safe to lose). */
  public readonly cache: docker.Volume;
  /** The off-site container. */
  public readonly container: docker.Container;

  constructor(name: string, args: OffsiteCopierArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:OffsiteCopier", name, {}, opts);
    const self = { parent: this };
    const { config, stack } = args;
    const names = offsiteNames(stack);

    if (config.image !== undefined) {
      this.imageBuild = undefined;
      this.image = pulumi.output(config.image);
    } else {
      const context = args.context ?? "app/offsite";
      this.imageBuild = new docker.Image(
        names.image,
        {
          imageName: offsiteImageTag(args.appImageTag),
          skipPush: true,
          build: {
            context,
            dockerfile: `${context}/Dockerfile`,
            builderVersion: "BuilderV1",
            // The app image's reference is a build argument too, so a new app image rebuilds this one.
            args: { APP_IMAGE: args.appImageTag, APP_IMAGE_REF: args.appImage },
          },
        },
        self,
      );
      // For a local (unpushed) image, repoDigest is the image ID `sha256:...` (see framework-image.ts).
      this.image = this.imageBuild.repoDigest;
    }

    const labels = fleetLabels({ stack, role: "offsite" });
    this.cache = new docker.Volume(names.cache, { name: names.dockerCache, labels }, self);

    const instances = [...args.instances].sort((a, b) => a.name.localeCompare(b.name));
    const volumes: docker.types.input.ContainerVolume[] = [
      { volumeName: this.cache.name, containerPath: "/state" },
      ...instances.map((i) =>
        i.hostDir
          ? { hostPath: i.backups, containerPath: `/backups/${i.name}` }
          : { volumeName: i.backups, containerPath: `/backups/${i.name}` },
      ),
      // A local-path repository is a host directory (a mounted disk), at the same path inside.
      ...(config.repository.startsWith("/") ? [{ hostPath: config.repository, containerPath: config.repository }] : []),
    ];
    const envs: pulumi.Input<string>[] = [
      envEntry(OFFSITE_ENV.repository, config.repository),
      pulumi.secret(envEntry(OFFSITE_ENV.password, config.password)),
      envEntry(OFFSITE_ENV.instances, instances.map((i) => i.name).join(",")),
      envEntry(OFFSITE_ENV.keepDaily, config.keepDaily),
      envEntry(OFFSITE_ENV.keepWeekly, config.keepWeekly),
      envEntry(OFFSITE_ENV.keepMonthly, config.keepMonthly),
      envEntry(OFFSITE_ENV.intervalSeconds, config.intervalSeconds),
      envEntry(OFFSITE_ENV.checkCron, config.check),
      envEntry(OFFSITE_ENV.pruneCron, config.prune),
      ...Object.keys(config.env)
        .sort()
        .map((k) => pulumi.secret(envEntry(k, config.env[k] ?? ""))),
      ...(config.sshKey !== undefined ? [pulumi.secret(envEntry(OFFSITE_ENV.sshKey, config.sshKey))] : []),
      ...(config.knownHosts !== undefined ? [envEntry(OFFSITE_ENV.knownHosts, config.knownHosts)] : []),
      ...notifyEnvs(args.stack, args.notify),
    ];

    this.container = new docker.Container(
      names.container,
      {
        name: names.dockerContainer,
        image: this.image,
        command: offsiteRunArgs(),
        envs,
        volumes,
        // restic tells its own stale locks by host name and PID (restic unlock at start).
        hostname: names.dockerContainer,
        healthcheck: OFFSITE_HEALTHCHECK,
        labels,
        ...CONTAINER_HARDENING,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
        ...memoryInputs(512),
        destroyGraceSeconds: OFFSITE_STOP_GRACE_SECONDS,
        stopTimeout: OFFSITE_STOP_GRACE_SECONDS,
      },
      // The provider's default delete-before-replace stays: the container has a fixed name.
      { ...self, ignoreChanges: IGNORE_CHANGES },
    );

    this.registerOutputs({ image: this.image, cache: this.cache.name, container: this.container.name });
  }
}
