/**
 * Every derived name: Pulumi logical names, Docker names, image tags and labels
 * (the table "Names" in docs/architecture.md). Pure.
 *
 * Docker names live in two functions, {@link stackDockerNames} (one per stack) and
 * {@link dockerNames} (one per instance), and {@link dockerNameProblems} checks every value of
 * both for every instance: a new derived name is added to one of them and joins the rule.
 */
import { LABEL } from "./app-contract";

/** Pulumi logical names of an instance's children. */
export function logicalNames(instance: string) {
  return {
    component: instance,
    data: `${instance}-data`,
    backups: `${instance}-backups`,
    adminToken: `${instance}-admin-token`,
    statusToken: `${instance}-status-token`,
    preUpdateBackup: `${instance}-pre-update-backup`,
    app: `${instance}-app`,
    backup: `${instance}-backup`,
    route: `${instance}-route`,
    service: `${instance}-service`,
    backupService: `${instance}-backup-service`,
    converged: `${instance}-converged`,
  } as const;
}

/**
 * Docker names of an instance's volumes and, on the swarm target, its services (containers are
 * auto-named by Pulumi). Swarm secrets are named by content: `<service>-<NAME>-<hash>` (swarm-instance.ts).
 */
export function dockerNames(stack: string, instance: string) {
  return {
    data: `fleet-${stack}-${instance}-data`,
    backups: `fleet-${stack}-${instance}-backups`,
    service: `fleet-${stack}-${instance}`,
    backupService: `fleet-${stack}-${instance}-backup`,
  } as const;
}

/** The instance names that are Swarm service names (a namespace apart from volumes and containers). */
const SERVICE_KEYS: ReadonlySet<string> = new Set(["service", "backupService"]);

/** What each of an instance's Docker names is, for messages. */
const INSTANCE_NAME_ROLES: Record<keyof ReturnType<typeof dockerNames>, string> = {
  data: "data volume",
  backups: "backups volume",
  service: "swarm service",
  backupService: "swarm backup service",
};

/** Docker names that exist once per stack. */
export function stackDockerNames(stack: string) {
  return {
    proxyContainer: `fleet-${stack}-proxy`,
    proxyData: `fleet-${stack}-proxy-data`,
    proxySockets: `fleet-${stack}-sockets`,
    offsiteContainer: `fleet-${stack}-offsite`,
    offsiteCache: `fleet-${stack}-offsite-cache`,
  } as const;
}

/** What each of the stack's Docker names is, for messages. */
const STACK_NAME_ROLES: Record<keyof ReturnType<typeof stackDockerNames>, string> = {
  proxyContainer: "the proxy container",
  proxyData: "the proxy's data volume (Caddy's certificates and routes)",
  proxySockets: "the volume of the apps' sockets",
  offsiteContainer: "the off-site container",
  offsiteCache: "the off-site container's restic cache volume",
};

/**
 * Names of the dashboard's children. `route` is its name in the proxy (site file, route symlink,
 * socket directory): `_dashboard`, which no instance can take (instance names start with a letter).
 */
export function dashboardNames(component: string) {
  return {
    component,
    token: `${component}-token`,
    container: `${component}-app`,
    routeCommand: `${component}-route`,
    route: "_dashboard",
  } as const;
}

/** Names of the proxy's children and its Docker objects. */
export function proxyNames(stack: string) {
  const docker = stackDockerNames(stack);
  return {
    component: "proxy",
    image: "proxy-image",
    data: "proxy-data",
    sockets: "proxy-sockets",
    container: "proxy",
    dockerData: docker.proxyData,
    dockerSockets: docker.proxySockets,
    dockerContainer: docker.proxyContainer,
  } as const;
}

/** Names of the off-site copier's children and its Docker objects (one per stack and host). */
export function offsiteNames(stack: string) {
  const docker = stackDockerNames(stack);
  return {
    component: "offsite",
    image: "offsite-image",
    cache: "offsite-cache",
    container: "offsite",
    dockerCache: docker.offsiteCache,
    dockerContainer: docker.offsiteContainer,
  } as const;
}

/**
 * Names Docker accepts for containers and volumes: moby daemon/names/names.go
 * (RestrictedNamePattern `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`).
 */
export const DOCKER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The one rule for Docker names: every name the stack and its instances derive is valid for
 * Docker and has exactly one owner. `instances` pairs each instance name with its file, as shown
 * in messages. One problem per clash, on the file that comes later (the stack's names come first).
 */
export function dockerNameProblems(stack: string, instances: readonly { name: string; file: string }[]): string[] {
  const problems: string[] = [];
  const owners = new Map<string, string>();
  // Swarm services are a namespace of their own: a service may share a volume's or container's name.
  const claim = (name: string, what: string, file?: string, namespace = "") => {
    const prefix = file === undefined ? `stack ${stack}` : file;
    const taken = owners.get(`${namespace}${name}`);
    if (!DOCKER_NAME_PATTERN.test(name)) {
      problems.push(`${prefix}: the Docker name ${JSON.stringify(name)} (${what}) is not valid for Docker`);
    } else if (taken !== undefined) {
      problems.push(
        `${prefix}: the Docker name ${name} (${what}) is already ${taken}; ` +
          (file === undefined ? "choose another stack name" : "choose another instance name"),
      );
    } else {
      owners.set(`${namespace}${name}`, file === undefined ? what : `the ${what} of ${file}`);
    }
  };
  const stackNames = stackDockerNames(stack);
  for (const key of Object.keys(stackNames) as (keyof typeof stackNames)[]) {
    claim(stackNames[key], STACK_NAME_ROLES[key]);
  }
  for (const { name, file } of instances) {
    const names = dockerNames(stack, name);
    for (const key of Object.keys(names) as (keyof typeof names)[]) {
      claim(names[key], INSTANCE_NAME_ROLES[key], file, SERVICE_KEYS.has(key) ? "service:" : "");
    }
  }
  return problems;
}

/** Logical name of the image child for a version: `app-1.0.0`. */
export function imageLogicalName(version: string): string {
  return `app-${version}`;
}

/** Local tag of a built image: `fleet-app:1.0.0`. */
export function localImageTag(version: string): string {
  return `fleet-app:${version}`;
}

/** Local tag of the off-site image built on an app image: `fleet-app:1.0.0` -> `fleet-app-offsite:1.0.0`. */
export function offsiteImageTag(appImageTag: string): string {
  const i = appImageTag.lastIndexOf(":");
  return `${appImageTag.slice(0, i)}-offsite${appImageTag.slice(i)}`;
}

/** Tag pulled in registry mode: `ghcr.io/owner/name:1.0.0`. */
export function registryImageTag(repository: string, version: string): string {
  return `${repository}:${version}`;
}

/** Host directory of an instance's backups when `fleet:backupDir` is set. */
export function backupHostDir(backupDir: string, instance: string): string {
  return `${backupDir.replace(/\/+$/, "")}/${instance}`;
}

/** What a label is for: `fleet.role`. */
export type Role =
  "app" | "backup" | "proxy" | "data" | "backups" | "sockets" | "offsite" | "dashboard" | "secret" | "job";

/** A Docker label as the docker provider takes it. */
export interface Label {
  readonly label: string;
  readonly value: string;
}

/**
 * Labels of a container or volume: `fleet.managed`, `fleet.stack`, `fleet.instance` (not on the proxy),
 * `fleet.role`, and `fleet.version` on app and backup containers. Sorted by label.
 */
export function fleetLabels(args: {
  readonly stack: string;
  readonly role: Role;
  readonly instance?: string;
  readonly version?: string;
}): Label[] {
  const labels: Label[] = [
    { label: LABEL.managed, value: "true" },
    { label: LABEL.stack, value: args.stack },
    { label: LABEL.role, value: args.role },
  ];
  if (args.instance !== undefined) labels.push({ label: LABEL.instance, value: args.instance });
  if (args.version !== undefined) labels.push({ label: LABEL.version, value: args.version });
  return labels.sort((a, b) => a.label.localeCompare(b.label));
}
