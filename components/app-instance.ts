import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BACKUP_DIR, backupCreateArgs, DATA_DIR, ENV, envEntry, LABEL, labelPairs } from "./app-contract";
import { InstanceComponent, notifySettings, type InstanceArgs } from "./instance-component";
import { backupHostDir, dockerNames, fleetLabels, logicalNames } from "./naming";
import { cpusString, goDuration, IGNORE_CHANGES, LOG_OPTS, memoryInputs } from "./provider-forms";
import { ROUTE_DELETE_SCRIPT, ROUTE_UPSERT_SCRIPT, siteBlock, SOCKETS_DIR, socketDir } from "./proxy-config";
import {
  APP_USER,
  appEnvironment,
  appHealthcheck,
  backupEnvironment,
  backupScheduleCommand,
  envLines,
  STOP_GRACE_SECONDS,
} from "./instance-inputs";
import { memoryMegabytes, waitTimeoutSeconds } from "./spec";

export { APP_PORT, APP_USER, HEALTH_PROBE, STOP_GRACE_SECONDS } from "./instance-inputs";

/**
 * What every fleet container of the app image runs with: non-root, read-only root, no
 * capabilities, restarted with the daemon, rotated logs (in the forms the provider reads back).
 */
export const CONTAINER_HARDENING = {
  user: APP_USER,
  readOnly: true,
  capabilities: { drops: ["ALL"] },
  securityOpts: ["no-new-privileges:true"],
  restart: "unless-stopped",
  logDriver: "json-file",
  logOpts: LOG_OPTS,
};

/** Arguments of {@link AppInstance}. */
export interface AppInstanceArgs extends InstanceArgs {
  /** The proxy that routes to this instance. */
  readonly proxy: {
    /** Docker name of the proxy container. */
    readonly containerName: pulumi.Input<string>;
    /** Caddy admin port on the host's loopback (for `caddy reload`). */
    readonly adminPort: number;
    /** Docker name of the stack's sockets volume, shared by the proxy and the app containers. */
    readonly socketsVolume: pulumi.Input<string>;
  };
}

/**
 * Healthcheck of the backup sidecar. The image's HEALTHCHECK probes the web server, which the
 * sidecar does not run. `["NONE"]` would not do: moby fills every zero duration and retries of
 * a container's healthcheck from the image's (daemon/commit.go merge), so Read would store the
 * image's interval where the program sent `0s`, a diff on every up. Instead a real, cheap check
 * with every field set: the backups directory is writable (`test` is coreutils, no runtime
 * starts), once a minute.
 */
export const SIDECAR_HEALTHCHECK = {
  tests: ["CMD", "test", "-w", BACKUP_DIR],
  interval: "1m0s",
  timeout: "5s",
  startPeriod: "5s",
  retries: 3,
};

/** The app's `backup create` of the pre-update backup, with the script's shell variables. */
const PRE_UPDATE_CREATE = backupCreateArgs({
  reason: "pre-update",
  from: '"${from:-none}"',
  to: '"$FLEET_VERSION"',
  ifExists: true,
});
const FROM_AT = PRE_UPDATE_CREATE.indexOf("--from");

/**
 * Pre-update backup, run by the `docker` CLI on the machine that runs `pulumi up`. It reads the
 * running version from the `fleet.version` label of the healthy app container (after a failed roll
 * the unhealthy new container is still there, and is not what serves), then runs the app's own
 * `backup create` in a throw-away container of the new image on the data volume. With
 * `--if-exists`, an empty volume (first deploy) is a no-op. A failure stops the update before the
 * app container is touched, because the container depends on this command.
 */
export const PRE_UPDATE_BACKUP_SCRIPT = [
  "set -eu",
  `from=$(docker ps --filter "label=${LABEL.stack}=$FLEET_STACK" --filter "label=${LABEL.instance}=$FLEET_INSTANCE" \\`,
  `  --filter label=${LABEL.role}=app --filter health=healthy --format '{{.Label "${LABEL.version}"}}' | head -n 1)`,
  `docker run --rm --network none --user ${APP_USER} --read-only --tmpfs /tmp \\`,
  "  --cap-drop ALL --security-opt no-new-privileges:true \\",
  `  -e "${ENV.appName}=$FLEET_INSTANCE" -e ${envEntry(ENV.dataDir, DATA_DIR)} -e ${envEntry(ENV.backupDir, BACKUP_DIR)} \\`,
  `  -v "$FLEET_DATA_VOLUME:${DATA_DIR}" -v "$FLEET_BACKUPS:${BACKUP_DIR}" \\`,
  // The script is the command's input: its text stays as it was, so a second up plans no replacement.
  `  "$FLEET_IMAGE" ${PRE_UPDATE_CREATE.slice(0, FROM_AT).join(" ")} \\`,
  `  ${PRE_UPDATE_CREATE.slice(FROM_AT).join(" ")}`,
  "",
].join("\n");

/**
 * The environment of a container that sends notifications on a plain Docker host (notifySettings
 * as env entries): the stack's name and `fleet:notify`, kept secret. Empty when notifications are
 * off. Container envs are not read back (resourceDockerContainerRead skips them), so a secret here
 * never drifts.
 */
export function notifyEnvs(stack: string, notify: pulumi.Input<string> | undefined): pulumi.Input<string>[] {
  const { env, secrets } = notifySettings(stack, notify);
  return [...envLines(env), ...Object.entries(secrets).map(([k, v]) => pulumi.interpolate`${k}=${v}`)];
}

/**
 * One instance of the framework app: data volume, backups, pre-update backup, app container,
 * backup sidecar and proxy route (url: through the proxy). See docs/architecture.md for names and labels.
 */
export class AppInstance extends InstanceComponent {
  /** The app container (later waves depend on it). */
  public readonly container: docker.Container;
  /** The pre-update backup command. */
  public readonly preUpdateBackup: command.local.Command;
  /** The scheduled-backup sidecar; undefined when `backup.enabled` is false. */
  public readonly backupJob: docker.Container | undefined;
  /** The read-only token of `GET /api/status` (secret); undefined unless `statusToken` is set. */
  public readonly statusToken: pulumi.Output<string> | undefined;
  /** The generated admin token; undefined when `fleet:secretEnv` sets ADMIN_TOKEN. */
  public readonly adminToken: random.RandomPassword | undefined;
  /** The proxy route command. */
  public readonly route: command.local.Command;

  constructor(name: string, args: AppInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:AppInstance", name, {}, opts);
    const self = { parent: this };
    const { spec, stack, version } = args;
    const names = logicalNames(name);
    const dockerName = dockerNames(stack, name);

    // The data survives removing the instance file, `pulumi destroy` and replacements.
    const data = new docker.Volume(
      names.data,
      { name: dockerName.data, labels: fleetLabels({ stack, role: "data", instance: name }) },
      { ...self, retainOnDelete: true },
    );

    let backups: pulumi.Output<string>;
    let backupsMount: docker.types.input.ContainerVolume;
    if (args.backupDir === undefined) {
      const volume = new docker.Volume(
        names.backups,
        { name: dockerName.backups, labels: fleetLabels({ stack, role: "backups", instance: name }) },
        { ...self, retainOnDelete: true },
      );
      backups = volume.name;
      backupsMount = { volumeName: volume.name, containerPath: BACKUP_DIR };
    } else {
      const dir = backupHostDir(args.backupDir, name);
      backups = pulumi.output(dir);
      backupsMount = { hostPath: dir, containerPath: BACKUP_DIR };
    }

    const secretEnv = args.secretEnv ?? {};
    let adminToken: pulumi.Input<string>;
    const givenToken = secretEnv[ENV.adminToken];
    if (givenToken === undefined) {
      this.adminToken = new random.RandomPassword(names.adminToken, { length: 32, special: false }, self);
      // The engine marks `result` secret itself; wrapping says so in the program (and under mocks).
      adminToken = pulumi.secret(this.adminToken.result);
    } else {
      this.adminToken = undefined;
      adminToken = givenToken;
    }
    this.statusToken = this.createStatusToken(name, args);

    const dockerHostEnv: Record<string, string> = args.dockerHost !== undefined ? { DOCKER_HOST: args.dockerHost } : {};

    this.preUpdateBackup = new command.local.Command(
      names.preUpdateBackup,
      {
        create: PRE_UPDATE_BACKUP_SCRIPT,
        // A new version or a new image re-runs the backup (command adds replaceOnChanges triggers[*]).
        triggers: [version, args.image],
        environment: {
          ...dockerHostEnv,
          FLEET_STACK: stack,
          FLEET_INSTANCE: name,
          FLEET_VERSION: version,
          FLEET_IMAGE: args.image,
          FLEET_DATA_VOLUME: data.name,
          FLEET_BACKUPS: backups,
        },
      },
      // Taken just before this instance's roll: after the previous wave's containers are healthy.
      { ...self, dependsOn: [...(args.after ?? [])] },
    );

    const envs: pulumi.Input<string>[] = [
      ...envLines(appEnvironment(name, spec, { [ENV.socketDir]: socketDir(name) })),
      ...Object.keys(secretEnv)
        .filter((k) => k !== ENV.adminToken)
        .sort()
        .map((k) => pulumi.interpolate`${k}=${secretEnv[k] ?? ""}`),
      pulumi.interpolate`${ENV.adminToken}=${adminToken}`,
      ...(this.statusToken !== undefined ? [pulumi.interpolate`${ENV.statusToken}=${this.statusToken}`] : []),
    ];
    const volumes = [{ volumeName: data.name, containerPath: DATA_DIR }, backupsMount];
    const hardening = {
      ...CONTAINER_HARDENING,
      tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
      // The forms the provider reads back (components/provider-forms.ts): no diff on the next up.
      ...memoryInputs(memoryMegabytes(spec.resources.memory)),
      cpus: cpusString(spec.resources.cpus),
    };

    this.container = new docker.Container(
      names.app,
      {
        // No name and no published port: the new container starts next to the old one, and the
        // proxy reaches it through its unix socket in the sockets volume (proxy-config.ts).
        image: args.image,
        envs,
        volumes: [...volumes, { volumeName: args.proxy.socketsVolume, containerPath: SOCKETS_DIR }],
        healthcheck: appHealthcheck(spec, goDuration),
        wait: true,
        waitTimeout: waitTimeoutSeconds(spec.healthcheck),
        labels: fleetLabels({ stack, role: "app", instance: name, version }),
        // Unset, the provider stops with a 0 s timeout, i.e. kills (resourceDockerContainerDelete in
        // kreuzwerker/terraform-provider-docker); stopTimeout covers every other stop.
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        stopTimeout: STOP_GRACE_SECONDS,
        ...hardening,
      },
      {
        ...self,
        // The provider defaults containers to delete-before-replace (pulumi/pulumi-docker
        // provider/resources.go: docker_container DeleteBeforeReplace: true); create-first keeps
        // the old one serving until the new one is healthy. replaceOnChanges "*" replaces a
        // container that failed its health wait on the next update instead of keeping it.
        deleteBeforeReplace: false,
        replaceOnChanges: ["*"],
        // The engine never stops an app container: after a failed apply it would delete the one
        // still serving before its replacement is healthy. The route retires replaced containers
        // once it points elsewhere, and all of them when the instance goes (proxy-config.ts `retire`).
        retainOnDelete: true,
        ignoreChanges: IGNORE_CHANGES,
        dependsOn: [this.preUpdateBackup, ...(args.after ?? [])],
      },
    );

    if (spec.backup.enabled) {
      this.backupJob = new docker.Container(
        names.backup,
        {
          image: args.image,
          command: backupScheduleCommand(spec),
          envs: [...envLines(backupEnvironment(name)), ...notifyEnvs(stack, args.notify)],
          volumes,
          healthcheck: SIDECAR_HEALTHCHECK,
          labels: fleetLabels({ stack, role: "backup", instance: name, version }),
          ...hardening,
        },
        { ...self, dependsOn: [this.container], ignoreChanges: IGNORE_CHANGES },
      );
    } else {
      this.backupJob = undefined;
    }

    this.route = new command.local.Command(
      names.route,
      {
        // No triggers: a new container changes the environment, which is an update that re-runs
        // the script (a symlink switch, no reload); removing the instance runs `delete`.
        create: ROUTE_UPSERT_SCRIPT,
        update: ROUTE_UPSERT_SCRIPT,
        delete: ROUTE_DELETE_SCRIPT,
        environment: {
          ...dockerHostEnv,
          FLEET_PROXY: args.proxy.containerName,
          FLEET_PROXY_ADMIN_PORT: String(args.proxy.adminPort),
          FLEET_INSTANCE: name,
          FLEET_CONTAINER_ID: this.container.id,
          FLEET_RETIRE_LABELS: labelPairs({ stack, instance: name, role: "app" }).join(" "),
          FLEET_STOP_GRACE: String(STOP_GRACE_SECONDS),
          FLEET_SITE_BLOCK: siteBlock({
            instance: name,
            port: spec.port,
            ...(spec.domain !== undefined ? { domain: spec.domain } : {}),
          }),
        },
      },
      self,
    );

    this.finish({
      url: pulumi.output(spec.domain !== undefined ? `https://${spec.domain}` : `http://localhost:${spec.port}`),
      version: pulumi.output(version),
      image: pulumi.output(args.image),
      dataVolume: data.name,
      backups,
    });
  }
}
