import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DASHBOARD_ENV, DASHBOARD_SERVER, envEntry, labelPairs } from "./app-contract";
import { APP_PORT, APP_USER, HEALTH_PROBE, STOP_GRACE_SECONDS } from "./app-instance";
import { dashboardNames, fleetLabels } from "./naming";
import { cpusString, IGNORE_CHANGES, LOG_OPTS, memoryInputs } from "./provider-forms";
import { ROUTE_DELETE_SCRIPT, ROUTE_UPSERT_SCRIPT, siteBlock, SOCKETS_DIR, socketDir } from "./proxy-config";

/** What the dashboard should find on one instance (passed in at deploy time). */
export interface DashboardInstance {
  readonly name: string;
  readonly title: string;
  /** The version it should run: its pin, else `fleet:version`. */
  readonly version: string;
  /** Its public address, as shown: `:5001` or `:5001, brews.example.org`. */
  readonly route: string;
  /** Cron expression of its scheduled backups; null when they are off. */
  readonly backupSchedule: string | null;
  /** The instance's read-only status token (AppInstance.statusToken), a secret. */
  readonly statusToken: pulumi.Input<string>;
}

/** Arguments of {@link FleetDashboard}. */
export interface FleetDashboardArgs {
  readonly stack: string;
  /** Public port on the proxy (`fleet:dashboardPort`). */
  readonly port: number;
  /** The app image (the dashboard is a mode of it: `node dist/dashboard-server.js`). */
  readonly image: pulumi.Input<string>;
  /** Version of that image, for the label. */
  readonly version: string;
  readonly instances: readonly DashboardInstance[];
  /** The proxy that routes to the dashboard, as for an instance. */
  readonly proxy: {
    readonly containerName: pulumi.Input<string>;
    readonly adminPort: number;
    readonly socketsVolume: pulumi.Input<string>;
  };
  /** DOCKER_HOST for the route command's `docker` CLI; undefined (the default) leaves the CLI to choose. */
  readonly dockerHost?: string;
}

/** The dashboard's healthcheck timing: it is not on a roll's critical path, so it probes less often than an instance. */
const HEALTHCHECK = { interval: "5s", timeout: "3s", startPeriod: "10s", retries: 3 };

/**
 * The fleet dashboard: one container of the app image in dashboard mode behind the proxy, and the
 * token that opens it. It gets the stack's sockets volume (where it reaches every instance, and
 * where the proxy reaches it) and nothing else of the host: no Docker socket, no host network, no
 * data or backups volume, non-root, read-only, no capabilities.
 */
export class FleetDashboard extends pulumi.ComponentResource {
  /** The token that opens the dashboard (Bearer, or the password of the browser's login prompt). */
  public readonly token: pulumi.Output<string>;
  /** The public URL. */
  public readonly url: pulumi.Output<string>;
  /** The dashboard container. */
  public readonly container: docker.Container;
  /** The proxy route command. */
  public readonly route: command.local.Command;

  constructor(name: string, args: FleetDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:FleetDashboard", name, {}, opts);
    const self = { parent: this };
    const names = dashboardNames(name);
    const tokenResource = new random.RandomPassword(names.token, { length: 32, special: false }, self);
    const token = pulumi.secret(tokenResource.result);

    const declared = args.instances.map(({ name: n, title, version, route, backupSchedule }) => ({
      name: n,
      title,
      version,
      route,
      backupSchedule,
    }));
    const statusTokens = pulumi
      .all(args.instances.map((i) => pulumi.output(i.statusToken)))
      .apply((tokens) => JSON.stringify(Object.fromEntries(args.instances.map((i, k) => [i.name, tokens[k]]))));

    this.container = new docker.Container(
      names.container,
      {
        image: args.image,
        command: [...DASHBOARD_SERVER],
        envs: [
          envEntry(DASHBOARD_ENV.port, APP_PORT),
          envEntry(DASHBOARD_ENV.socketDir, socketDir(names.route)),
          envEntry(DASHBOARD_ENV.socketsDir, SOCKETS_DIR),
          envEntry(DASHBOARD_ENV.stack, args.stack),
          envEntry(DASHBOARD_ENV.instances, JSON.stringify(declared)),
          // envs are not read back (resourceDockerContainerRead skips them): secrets here never drift.
          pulumi.interpolate`${DASHBOARD_ENV.statusTokens}=${pulumi.secret(statusTokens)}`,
          pulumi.interpolate`${DASHBOARD_ENV.adminToken}=${token}`,
        ],
        volumes: [{ volumeName: args.proxy.socketsVolume, containerPath: SOCKETS_DIR }],
        healthcheck: { tests: HEALTH_PROBE, ...HEALTHCHECK },
        wait: true,
        waitTimeout: 60,
        labels: fleetLabels({ stack: args.stack, role: "dashboard", version: args.version }),
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        stopTimeout: STOP_GRACE_SECONDS,
        user: APP_USER,
        readOnly: true,
        tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        restart: "unless-stopped",
        ...memoryInputs(128),
        cpus: cpusString(0.25),
        logDriver: "json-file",
        logOpts: LOG_OPTS,
      },
      // As an app container: create-first (no name, no published port), replaced on any change.
      // Retained like an app container, and retired by its route (proxy-config.ts `retire`).
      {
        ...self,
        deleteBeforeReplace: false,
        replaceOnChanges: ["*"],
        retainOnDelete: true,
        ignoreChanges: IGNORE_CHANGES,
      },
    );

    this.route = new command.local.Command(
      names.routeCommand,
      {
        create: ROUTE_UPSERT_SCRIPT,
        update: ROUTE_UPSERT_SCRIPT,
        delete: ROUTE_DELETE_SCRIPT,
        environment: {
          ...(args.dockerHost !== undefined ? { DOCKER_HOST: args.dockerHost } : {}),
          FLEET_PROXY: args.proxy.containerName,
          FLEET_PROXY_ADMIN_PORT: String(args.proxy.adminPort),
          FLEET_INSTANCE: names.route,
          FLEET_CONTAINER_ID: this.container.id,
          FLEET_RETIRE_LABELS: labelPairs({ stack: args.stack, role: "dashboard" }).join(" "),
          FLEET_STOP_GRACE: String(STOP_GRACE_SECONDS),
          FLEET_SITE_BLOCK: siteBlock({ instance: names.route, port: args.port }),
        },
      },
      self,
    );

    this.token = token;
    this.url = pulumi.output(`http://localhost:${args.port}`);
    this.registerOutputs({ url: this.url });
  }
}
