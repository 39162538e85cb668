/**
 * The fleet program: read the stack config, validate every instance file, then register the
 * image, the proxy and one AppInstance per file, in rollout order.
 */
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { AppInstance } from "./components/app-instance";
import { treeRevision } from "./components/app-revision";
import { DockerEndpointError, dockerEndpointFromEnvironment } from "./components/docker-endpoint";
import { FleetValidationError, loadFleet, secretEnvProblems } from "./components/fleet";
import { FleetDashboard } from "./components/fleet-dashboard";
import { FleetProxy } from "./components/fleet-proxy";
import { FrameworkImage } from "./components/framework-image";
import { localImageTag, registryImageTag } from "./components/naming";
import { OffsiteCopier } from "./components/offsite";
import { placementNode, targetProblems } from "./components/placement";
import { planRollout } from "./components/plan";
import { programStackConfig, StackConfigError } from "./components/stack-config";
import { SwarmInstance } from "./components/swarm-instance";

const stack = pulumi.getStack();
const pulumiConfig = new pulumi.Config("fleet");

function validated<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    // RunError: Pulumi prints the message without a stack trace.
    if (err instanceof FleetValidationError || err instanceof StackConfigError || err instanceof DockerEndpointError)
      throw new pulumi.RunError(err.message);
    throw err;
  }
}

// 1. Config, through the one reader (unknown fleet: keys and plaintext secrets are refused).
// `secretEnv` is read as a plain object because which children exist (a generated admin token or
// not) must be known now; every value is wrapped in pulumi.secret before it is used.
const config = validated(() =>
  programStackConfig(pulumiConfig, Object.keys(pulumi.runtime.allConfig()), { projectDir: __dirname, stack }),
);

// 2. Every instance file, before any resource is registered.
const fleet = validated(() => {
  const loaded = loadFleet(path.resolve(__dirname, config.instancesDir), {
    reservedPorts: {
      [config.proxyAdminPort]: "the proxy's admin API (fleet:proxyAdminPort)",
      ...(config.dashboardPort !== 0 ? { [config.dashboardPort]: "the fleet dashboard (fleet:dashboardPort)" } : {}),
    },
    stack,
    allowEmpty: config.allowEmptyFleet,
  });
  const problems = [...secretEnvProblems(config.secretEnv, loaded), ...targetProblems(config, loaded)];
  if (problems.length > 0) throw new StackConfigError(problems);
  return loaded;
});

// One engine: the commands get the endpoint the provider uses, explicitly (components/docker-endpoint.ts).
// The provider is explicit only for fleet:dockerHost; otherwise the default provider resolves the
// same endpoint itself, and existing stacks keep their provider.
const endpoint = validated(() => dockerEndpointFromEnvironment(config.dockerHost));
const providers =
  endpoint.source === "fleet:dockerHost"
    ? { docker: new docker.Provider("docker", { host: endpoint.host }) }
    : undefined;
const opts = providers ? { providers } : {};

// 3. The image, one child per version in use.
const versionOf = (spec: { version?: string }) => spec.version ?? config.version;
const image = new FrameworkImage(
  "app",
  {
    version: config.version,
    versions: [config.version, ...fleet.instances.map(versionOf)],
    source:
      config.image === "build"
        ? { kind: "build", context: "app", revision: treeRevision(__dirname, "app") }
        : { kind: "registry", repository: config.image },
  },
  opts,
);

// The docker target routes through the Caddy proxy; on a swarm each service publishes its own port.
const proxy =
  config.target === "docker"
    ? new FleetProxy("proxy", { stack, image: config.proxyImage, adminPort: config.proxyAdminPort }, opts)
    : undefined;

// 4. One instance per file, registered in rollout order so each wave can wait for the previous one.
const plan = planRollout(fleet.instances);
const byName = new Map(fleet.instances.map((spec) => [spec.name, spec]));
const apps = new Map<string, AppInstance | SwarmInstance>();
const rolled = (name: string) => {
  const app = apps.get(name)!;
  return app instanceof AppInstance ? app.container : app.service;
};
for (const name of plan.order) {
  const spec = byName.get(name)!;
  const version = versionOf(spec);
  const secrets = config.secretEnv[name] ?? {};
  const common = {
    stack,
    spec,
    version,
    image: image.ref(version),
    ...(config.backupDir !== "" ? { backupDir: config.backupDir } : {}),
    dockerHost: endpoint.host,
    secretEnv: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, pulumi.secret(v)])),
    ...(config.notify !== "" ? { notify: pulumi.secret(config.notify) } : {}),
    statusToken: config.dashboardPort !== 0,
    after: (plan.after[name] ?? []).map(rolled),
  };
  apps.set(
    name,
    proxy === undefined
      ? new SwarmInstance(
          name,
          { ...common, node: placementNode(config.placement, name)!, publishMode: config.publishMode },
          opts,
        )
      : new AppInstance(
          name,
          {
            ...common,
            proxy: {
              containerName: proxy.containerName,
              adminPort: config.proxyAdminPort,
              socketsVolume: proxy.socketsVolume,
            },
          },
          opts,
        ),
  );
}

// 5. Off-site copies: one container per host for every instance that takes part (docs/backups.md).
const offsite =
  config.offsite === undefined
    ? undefined
    : new OffsiteCopier(
        "offsite",
        {
          stack,
          config: config.offsite,
          appImageTag:
            config.image === "build" ? localImageTag(config.version) : registryImageTag(config.image, config.version),
          appImage: image.ref(config.version),
          instances: fleet.instances
            .filter((spec) => spec.backup.offsite)
            .map(({ name }) => ({ name, backups: apps.get(name)!.backups, hostDir: config.backupDir !== "" })),
          ...(config.notify !== "" ? { notify: pulumi.secret(config.notify) } : {}),
        },
        opts,
      );

// 6. The dashboard, when fleet:dashboardPort is set: it reads every instance through its socket in the
// proxy's sockets volume (docker target only: targetProblems refuses it on a swarm).
const dashboard =
  config.dashboardPort === 0 || proxy === undefined
    ? undefined
    : new FleetDashboard(
        "dashboard",
        {
          stack,
          port: config.dashboardPort,
          image: image.ref(config.version),
          version: config.version,
          instances: fleet.instances.map((spec) => ({
            name: spec.name,
            title: spec.title,
            version: versionOf(spec),
            route: [`:${spec.port}`, ...(spec.domain !== undefined ? [spec.domain] : [])].join(", "),
            backupSchedule: spec.backup.enabled ? spec.backup.schedule : null,
            statusToken: apps.get(spec.name)!.statusToken!,
          })),
          proxy: {
            containerName: proxy.containerName,
            adminPort: config.proxyAdminPort,
            socketsVolume: proxy.socketsVolume,
          },
          dockerHost: endpoint.host,
        },
        opts,
      );

/** The off-site container's Docker name, or null without fleet:offsite. */
export const offsiteContainer = offsite === undefined ? null : offsite.container.name;
// null when the dashboard is off (an undefined output would print a warning on every up).
/** The dashboard's URL. */
export const dashboardUrl = dashboard?.url ?? null;
/** The dashboard's token, secret: `pulumi stack output dashboardToken --show-secrets`. */
export const dashboardToken = dashboard?.token ?? null;

// 7. Outputs per instance.
export const instances = Object.fromEntries(
  fleet.instances.map(({ name }) => {
    const app = apps.get(name)!;
    return [
      name,
      { url: app.url, version: app.version, image: app.image, dataVolume: app.dataVolume, backups: app.backups },
    ];
  }),
);

/** Generated admin tokens, secret: `pulumi stack output adminTokens --show-secrets`. */
export const adminTokens = pulumi.secret(
  pulumi.output(
    Object.fromEntries(
      fleet.instances.flatMap(({ name }) => {
        const token = apps.get(name)!.adminToken;
        return token ? [[name, token.result]] : [];
      }),
    ),
  ),
);
