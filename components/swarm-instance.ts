import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BACKUP_DIR, backupCreateArgs, DATA_DIR, ENV, LABEL } from "./app-contract";
import { SIDECAR_HEALTHCHECK } from "./app-instance";
import {
  APP_PORT,
  APP_USER,
  appEnvironment,
  appHealthcheck,
  backupEnvironment,
  backupScheduleCommand,
  STOP_GRACE_SECONDS,
} from "./instance-inputs";
import { InstanceComponent, notifySettings, type InstanceArgs } from "./instance-component";
import { backupHostDir, dockerNames, fleetLabels, logicalNames } from "./naming";
import { nodeConstraint } from "./placement";
import { LOG_OPTS, parseCpus, shortDuration } from "./provider-forms";
import { durationSeconds, memoryMegabytes, type InstanceSpec } from "./spec";

/** Where Swarm mounts a service's secrets: `/run/secrets/<file>`. */
export const SECRETS_DIR = "/run/secrets";

/** Arguments of {@link SwarmInstance}; `image` must be pinned by digest (`repo@sha256:...`): every node pulls it. */
export interface SwarmInstanceArgs extends InstanceArgs {
  /** Hostname of the Swarm node that holds the instance's volumes (`fleet:placement`). */
  readonly node: string;
  /** `ingress` (the routing mesh, the default) or `host` (the node's own port). */
  readonly publishMode?: "ingress" | "host";
}

/**
 * The Docker name of a Swarm secret: the service's name, the variable, and the first 12 hex digits
 * of the SHA-256 of the value. Swarm secrets are immutable; a new value is a new secret that the
 * service switches to in the same update (and the old one is removed after it). The hash says
 * nothing an API client could not read anyway: whoever reaches the Swarm API can read any secret
 * by running a service that mounts it.
 */
export function secretDockerName(service: string, key: string, value: string): string {
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 12);
  return `${service}-${key.toLowerCase().replace(/_/g, "-")}-${hash}`;
}

/**
 * The update settings of the app service: one task at a time; the new task first when the port is
 * published through the mesh, the old one first with a host port (two tasks on one node cannot
 * bind it: Swarm keeps the new task pending with "host-mode port already in use"); a failed update
 * rolls back. Swarm counts a task as started only once its healthcheck passes (moby
 * daemon/cluster/executor/container/controller.go Start waits for "healthy"), and the monitor
 * window after that is as long as the healthcheck needs to call it unhealthy, so a version that
 * starts and then fails its probe is rolled back too.
 */
export function updateConfig(spec: InstanceSpec, publishMode: "ingress" | "host") {
  return {
    parallelism: 1,
    delay: "0s",
    failureAction: "rollback",
    monitor: shortDuration(`${healthWindowSeconds(spec)}s`),
    // The provider reads this back as a one-decimal float (flattenServiceUpdateOrRollbackConfig).
    maxFailureRatio: "0.0",
    order: publishMode === "host" ? "stop-first" : "start-first",
  };
}

/** Seconds Docker needs to call a task unhealthy: the start period, then `retries` failed checks. */
export function healthWindowSeconds(spec: InstanceSpec): number {
  const hc = spec.healthcheck;
  return Math.ceil(
    durationSeconds(hc.startPeriod) + hc.retries * (durationSeconds(hc.interval) + durationSeconds(hc.timeout)),
  );
}

/**
 * How long the provider waits for an update to converge (convergeConfig): a new task gets healthy
 * and is monitored, and on failure the old one comes back the same way, plus a minute for pulls.
 */
export function convergeTimeoutSeconds(spec: InstanceSpec): number {
  return 4 * healthWindowSeconds(spec) + 60;
}

/** The app's `backup create` of the job; `$ifexists` is added by the script when the service does not exist yet. */
const PRE_UPDATE_CREATE = backupCreateArgs({
  reason: "pre-update",
  from: '"${from:-none}"',
  to: '"$FLEET_VERSION"',
}).join(" ");

/**
 * Pre-update backup on the swarm: a replicated job constrained to the instance's node runs the
 * app's own `backup create` on the data volume, with the new image, before the service is
 * updated (the service depends on this command; a failure stops the update). The job's task state
 * is the result: `complete`, or the update stops with its logs (a job that has not finished in 10
 * minutes fails too). On a first deploy (no service yet)
 * an empty volume is fine (`--if-exists`); once the service exists the database must be on the
 * node, so a changed `fleet:placement` whose node holds no restored copy fails here, before the
 * service moves to an empty volume (docs/swarm.md: moving an instance).
 */
export const SWARM_PRE_UPDATE_BACKUP_SCRIPT = [
  "set -eu",
  `prev=$(docker service inspect "$FLEET_SERVICE" --format '{{index .Spec.Labels "${LABEL.version}"}} {{index .Spec.Labels "fleet.node"}}' 2>/dev/null || true)`,
  'from=${prev% *}; was=${prev#* }; ifexists=""',
  '[ -n "$prev" ] || ifexists="--if-exists"',
  'job="$FLEET_SERVICE-pre-update-$(date +%s)"',
  `labels="${LABEL.managed}=true ${LABEL.stack}=$FLEET_STACK ${LABEL.instance}=$FLEET_INSTANCE ${LABEL.role}=job"`,
  'set --; for l in $labels; do set -- "$@" --label "$l" --container-label "$l"; done',
  'docker service create --quiet --detach --name "$job" --mode replicated-job --restart-condition none "$@" \\',
  `  --constraint "node.hostname==$FLEET_NODE" --user ${APP_USER} --read-only --mount type=tmpfs,dst=/tmp --cap-drop ALL \\`,
  `  -e "${ENV.appName}=$FLEET_INSTANCE" -e ${ENV.dataDir}=${DATA_DIR} -e ${ENV.backupDir}=${BACKUP_DIR} \\`,
  `  --mount "$FLEET_DATA_MOUNT,dst=${DATA_DIR}" --mount "$FLEET_BACKUPS_MOUNT,dst=${BACKUP_DIR}" \\`,
  `  "$FLEET_IMAGE" ${PRE_UPDATE_CREATE} $ifexists \\`,
  "  >/dev/null",
  // Bounded: a job that cannot start (its node is down) fails the update after 10 minutes.
  'i=0; task=""; state=pending',
  "while [ $i -lt 600 ]; do",
  '  task=$(docker service ps -q "$job" | head -n 1)',
  '  [ -z "$task" ] || state=$(docker inspect --format \'{{.Status.State}}\' "$task")',
  '  case "$state" in complete | failed | rejected | shutdown | orphaned) break ;; esac',
  "  sleep 1; i=$((i + 1))",
  "done",
  'cid=$([ -z "$task" ] || docker inspect --format \'{{if .Status.ContainerStatus}}{{.Status.ContainerStatus.ContainerID}}{{end}}\' "$task")',
  'logs=$(docker service logs --raw "$job" 2>&1 || true)',
  'docker service rm "$job" >/dev/null',
  // A finished job's container stays on its node; removed here when that node is this engine.
  '[ -z "$cid" ] || docker rm "$cid" >/dev/null 2>&1 || true',
  '[ "$state" = complete ] && { echo "$logs"; exit 0; }',
  'echo "pre-update backup of instance $FLEET_INSTANCE on node $FLEET_NODE failed ($state): $logs" >&2',
  'if [ -n "$prev" ] && [ "$was" != "$FLEET_NODE" ]; then',
  '  echo "instance $FLEET_INSTANCE moves from node $was to $FLEET_NODE: restore its data there first (docs/swarm.md), or set fleet:placement.$FLEET_INSTANCE back to $was" >&2',
  "fi",
  "exit 1",
  "",
].join("\n");

/**
 * Whether Swarm runs what this update asked for: after the service update, the spec Swarm keeps
 * must carry the new version and image. When Swarm rolled the update back by itself, the spec is
 * the previous one again and this fails, naming the instance; it is not in the state until it
 * succeeds, so every later `up` checks again until the fleet runs what the stack says.
 */
export const SWARM_CONVERGED_SCRIPT = [
  "set -eu",
  `got=$(docker service inspect "$FLEET_SERVICE" --format '{{index .Spec.Labels "fleet.version"}} {{.Spec.TaskTemplate.ContainerSpec.Image}}')`,
  'if [ "$got" != "$FLEET_VERSION $FLEET_IMAGE" ]; then',
  `  state=$(docker service inspect "$FLEET_SERVICE" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}: {{.UpdateStatus.Message}}{{end}}')`,
  '  echo "instance $FLEET_INSTANCE runs version ${got%% *}, not $FLEET_VERSION: Swarm rolled the update back ($state); fix the version and run up again, or set the previous version" >&2',
  "  exit 1",
  "fi",
  "",
].join("\n");

/** Swarm's resource fields: limits from the instance file; memory reserved as much as it may use. */
function resources(spec: InstanceSpec) {
  const memoryBytes = memoryMegabytes(spec.resources.memory) * 1024 * 1024;
  return {
    limits: { nanoCpus: Number(parseCpus(String(spec.resources.cpus))), memoryBytes },
    // CPU is shared and can be squeezed; memory cannot, so the scheduler only places an instance
    // (and, during a start-first update, its second task) where its memory is free.
    reservation: { nanoCpus: 0, memoryBytes },
  };
}

/**
 * One instance of the framework app on a Docker Swarm: a one-replica service pinned to a node,
 * its secrets, the pre-update backup job and the backup sidecar service (docs/swarm.md). Its url is
 * the published port: through the mesh on any node, or on the instance's node.
 */
export class SwarmInstance extends InstanceComponent {
  /** The app service (later waves depend on it). */
  public readonly service: docker.Service;
  /** The pre-update backup command (a replicated job on the node). */
  public readonly preUpdateBackup: command.local.Command;
  /** The check that Swarm kept the update. */
  public readonly converged: command.local.Command;
  /** The scheduled-backup service; undefined when `backup.enabled` is false. */
  public readonly backupService: docker.Service | undefined;
  /** The read-only token of `GET /api/status` (secret); undefined unless `statusToken` is set. */
  public readonly statusToken: pulumi.Output<string> | undefined;
  /** The generated admin token; undefined when `fleet:secretEnv` sets ADMIN_TOKEN. */
  public readonly adminToken: random.RandomPassword | undefined;
  /** The Swarm secrets, by variable name. */
  public readonly secrets: Readonly<Record<string, docker.Secret>>;

  constructor(name: string, args: SwarmInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:SwarmInstance", name, {}, opts);
    const self = { parent: this };
    const { spec, stack, version, node } = args;
    const publishMode = args.publishMode ?? "ingress";
    const names = logicalNames(name);
    const dockerName = dockerNames(stack, name);

    // Volumes are local to a node, so the services' mounts create them there (a docker.Volume
    // would be created on the manager the provider talks to). Swarm never removes a named volume
    // with a service: removing the instance keeps its data on the node.
    const volumeMount = (source: string, target: string, role: "data" | "backups") => ({
      type: "volume",
      source,
      target,
      volumeOptions: { labels: fleetLabels({ stack, role, instance: name }) },
    });
    const dataMount = volumeMount(dockerName.data, DATA_DIR, "data");
    const backupsMount =
      args.backupDir === undefined
        ? volumeMount(dockerName.backups, BACKUP_DIR, "backups")
        : { type: "bind", source: backupHostDir(args.backupDir, name), target: BACKUP_DIR };
    const backups = args.backupDir === undefined ? dockerName.backups : backupHostDir(args.backupDir, name);
    // The job's mounts, as `docker service create --mount` takes them: the job may be the first to
    // create the volumes on the node, so they carry the same labels.
    const volumeFlag = (source: string, role: "data" | "backups") =>
      [
        `type=volume,src=${source}`,
        ...fleetLabels({ stack, role, instance: name }).map((l) => `volume-label=${l.label}=${l.value}`),
      ].join(",");
    const backupsMountFlag =
      args.backupDir === undefined ? volumeFlag(dockerName.backups, "backups") : `type=bind,src=${backups}`;

    const secretEnv = { ...(args.secretEnv ?? {}) };
    if (secretEnv[ENV.adminToken] === undefined) {
      this.adminToken = new random.RandomPassword(names.adminToken, { length: 32, special: false }, self);
      secretEnv[ENV.adminToken] = pulumi.secret(this.adminToken.result);
    } else {
      this.adminToken = undefined;
    }
    this.statusToken = this.createStatusToken(name, args);
    if (this.statusToken !== undefined) secretEnv[ENV.statusToken] = this.statusToken;
    // One Swarm secret per variable, the logical name derived from `prefix`, the Docker name from the service's.
    const swarmSecrets = (prefix: string, service: string, env: Readonly<Record<string, pulumi.Input<string>>>) => {
      const out: Record<string, docker.Secret> = {};
      for (const key of Object.keys(env).sort()) {
        const value = pulumi.output(env[key]!);
        out[key] = new docker.Secret(
          `${prefix}-secret-${key.toLowerCase().replace(/_/g, "-")}`,
          {
            // The name is a hash, not the value: it need not be kept secret.
            name: pulumi.unsecret(value.apply((v) => secretDockerName(service, key, v))),
            data: value.apply((v) => Buffer.from(v, "utf8").toString("base64")),
            labels: fleetLabels({ stack, role: "secret", instance: name }),
          },
          self,
        );
      }
      return out;
    };
    const secrets = swarmSecrets(name, dockerName.service, secretEnv);
    this.secrets = secrets;

    const commandEnv = {
      ...(args.dockerHost !== undefined ? { DOCKER_HOST: args.dockerHost } : {}),
      FLEET_STACK: stack,
      FLEET_INSTANCE: name,
      FLEET_SERVICE: dockerName.service,
      FLEET_NODE: node,
      FLEET_VERSION: version,
      FLEET_IMAGE: args.image,
    };
    this.preUpdateBackup = new command.local.Command(
      names.preUpdateBackup,
      {
        create: SWARM_PRE_UPDATE_BACKUP_SCRIPT,
        // A new version, image or node re-runs the backup (command adds replaceOnChanges triggers[*]).
        triggers: [version, args.image, node],
        environment: {
          ...commandEnv,
          FLEET_DATA_MOUNT: volumeFlag(dockerName.data, "data"),
          FLEET_BACKUPS_MOUNT: backupsMountFlag,
        },
      },
      { ...self, dependsOn: [...(args.after ?? [])] },
    );

    const labels = fleetLabels({ stack, role: "app", instance: name, version });
    const nodeLabel = { label: "fleet.node", value: node };
    const hardening = {
      user: APP_USER,
      readOnly: true,
      capDrops: ["ALL"],
      stopGracePeriod: shortDuration(`${STOP_GRACE_SECONDS}s`),
    };
    const tmpMount = { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 64 * 1024 * 1024 } };
    const taskCommon = {
      resources: resources(spec),
      // Swarm restarts a task that exits; after a failed health probe it replaces the task.
      restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "0s" },
      placement: { constraints: [nodeConstraint(node)] },
      logDriver: { name: "json-file", options: LOG_OPTS },
    };
    // The app reads NAME_FILE as NAME (app/src/config.ts resolveFileVariables).
    const fileEnv = (of: Readonly<Record<string, docker.Secret>>) =>
      Object.fromEntries(Object.keys(of).map((k) => [`${k}_FILE`, `${SECRETS_DIR}/${k}`]));
    const secretMounts = (of: Readonly<Record<string, docker.Secret>>) =>
      Object.entries(of).map(([key, secret]) => ({
        secretId: secret.id,
        secretName: secret.name,
        fileName: key,
        fileUid: "10001",
        fileGid: "10001",
        fileMode: 0o400,
      }));

    this.service = new docker.Service(
      names.service,
      {
        name: dockerName.service,
        labels: [...labels, nodeLabel].sort((a, b) => a.label.localeCompare(b.label)),
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: {
            image: args.image,
            env: { ...appEnvironment(name, spec), ...fileEnv(secrets) },
            labels,
            mounts: [dataMount, backupsMount, tmpMount],
            secrets: secretMounts(secrets),
            healthcheck: appHealthcheck(spec, shortDuration),
            ...hardening,
          },
          ...taskCommon,
        },
        endpointSpec: {
          mode: "vip",
          ports: [{ targetPort: APP_PORT, publishedPort: spec.port, publishMode, protocol: "tcp", name: "" }],
        },
        updateConfig: updateConfig(spec, publishMode),
        // A rollback goes the same way; if it fails too, Swarm pauses and leaves the task it has.
        rollbackConfig: { ...updateConfig(spec, publishMode), failureAction: "pause" },
        // The provider waits for the update and fails when Swarm rolls it back or pauses
        // (resourceDockerServiceUpdateRefreshFunc in kreuzwerker/terraform-provider-docker
        // internal/provider/resource_docker_service_funcs.go: "service rollback completed"); a
        // create that never converges is deleted again (resourceDockerServiceCreate).
        convergeConfig: { delay: "7s", timeout: shortDuration(`${convergeTimeoutSeconds(spec)}s`) },
      },
      { ...self, dependsOn: [this.preUpdateBackup, ...(args.after ?? [])] },
    );

    this.converged = new command.local.Command(
      names.converged,
      { create: SWARM_CONVERGED_SCRIPT, triggers: [version, args.image], environment: commandEnv },
      { ...self, dependsOn: [this.service] },
    );

    if (spec.backup.enabled) {
      const notifier = notifySettings(stack, args.notify);
      const sidecarSecrets = swarmSecrets(names.backupService, dockerName.backupService, notifier.secrets);
      this.backupService = new docker.Service(
        names.backupService,
        {
          name: dockerName.backupService,
          labels: fleetLabels({ stack, role: "backup", instance: name, version }),
          mode: { replicated: { replicas: 1 } },
          taskSpec: {
            containerSpec: {
              image: args.image,
              // Args, not Command: the image's ENTRYPOINT (tini) stays, as with the docker target's `command`.
              args: backupScheduleCommand(spec),
              env: {
                ...backupEnvironment(name),
                ...notifier.env,
                ...fileEnv(sidecarSecrets),
              },
              labels: fleetLabels({ stack, role: "backup", instance: name, version }),
              mounts: [dataMount, backupsMount, tmpMount],
              ...(Object.keys(sidecarSecrets).length > 0 ? { secrets: secretMounts(sidecarSecrets) } : {}),
              healthcheck: { ...SIDECAR_HEALTHCHECK, interval: shortDuration(SIDECAR_HEALTHCHECK.interval) },
              ...hardening,
            },
            ...taskCommon,
          },
          endpointSpec: { mode: "vip" },
          // No port: the old sidecar stops before the new one starts, so two never write at once.
          updateConfig: { ...updateConfig(spec, "host"), failureAction: "pause" },
        },
        { ...self, dependsOn: [this.service] },
      );
    } else {
      this.backupService = undefined;
    }

    this.finish({
      url: pulumi.output(`http://${publishMode === "host" ? node : "localhost"}:${spec.port}`),
      version: pulumi.output(version),
      image: pulumi.output(args.image),
      dataVolume: pulumi.output(dockerName.data),
      backups: pulumi.output(backups),
    });
  }
}
