/**
 * Every derived name: Pulumi logical names, Docker names, image tags and labels
 * (the table "Names" in docs/architecture.md). Pure.
 */

/** Pulumi logical names of an instance's children. */
export function logicalNames(instance: string) {
  return {
    component: instance,
    data: `${instance}-data`,
    backups: `${instance}-backups`,
    adminToken: `${instance}-admin-token`,
    preUpdateBackup: `${instance}-pre-update-backup`,
    app: `${instance}-app`,
    backup: `${instance}-backup`,
    route: `${instance}-route`,
  } as const;
}

/** Docker names of an instance's volumes (containers are auto-named by Pulumi). */
export function dockerNames(stack: string, instance: string) {
  return {
    data: `fleet-${stack}-${instance}-data`,
    backups: `fleet-${stack}-${instance}-backups`,
  } as const;
}

/** Names of the proxy's children and its Docker objects. */
export function proxyNames(stack: string) {
  return {
    component: "proxy",
    image: "proxy-image",
    data: "proxy-data",
    sockets: "proxy-sockets",
    container: "proxy",
    dockerData: `fleet-${stack}-proxy-data`,
    dockerSockets: `fleet-${stack}-sockets`,
    dockerContainer: `fleet-${stack}-proxy`,
  } as const;
}

/** Logical name of the image child for a version: `app-1.0.0`. */
export function imageLogicalName(version: string): string {
  return `app-${version}`;
}

/** Local tag of a built image: `fleet-app:1.0.0`. */
export function localImageTag(version: string): string {
  return `fleet-app:${version}`;
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
export type Role = "app" | "backup" | "proxy" | "data" | "backups" | "sockets";

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
    { label: "fleet.managed", value: "true" },
    { label: "fleet.stack", value: args.stack },
    { label: "fleet.role", value: args.role },
  ];
  if (args.instance !== undefined) labels.push({ label: "fleet.instance", value: args.instance });
  if (args.version !== undefined) labels.push({ label: "fleet.version", value: args.version });
  return labels.sort((a, b) => a.label.localeCompare(b.label));
}
