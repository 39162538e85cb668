import { describe, expect, test } from "vitest";
import {
  backupHostDir,
  dockerNames,
  fleetLabels,
  imageLogicalName,
  localImageTag,
  logicalNames,
  proxyNames,
  registryImageTag,
} from "../components/naming";

describe("names (docs/architecture.md, stack dev, instance homebrews)", () => {
  test("logical names", () => {
    expect(logicalNames("homebrews")).toEqual({
      component: "homebrews",
      data: "homebrews-data",
      backups: "homebrews-backups",
      adminToken: "homebrews-admin-token",
      statusToken: "homebrews-status-token",
      preUpdateBackup: "homebrews-pre-update-backup",
      app: "homebrews-app",
      backup: "homebrews-backup",
      route: "homebrews-route",
      service: "homebrews-service",
      backupService: "homebrews-backup-service",
      converged: "homebrews-converged",
    });
  });

  test("docker names", () => {
    expect(dockerNames("dev", "homebrews")).toEqual({
      data: "fleet-dev-homebrews-data",
      backups: "fleet-dev-homebrews-backups",
      service: "fleet-dev-homebrews",
      backupService: "fleet-dev-homebrews-backup",
    });
    expect(proxyNames("dev")).toEqual({
      component: "proxy",
      image: "proxy-image",
      data: "proxy-data",
      sockets: "proxy-sockets",
      container: "proxy",
      dockerData: "fleet-dev-proxy-data",
      dockerSockets: "fleet-dev-sockets",
      dockerContainer: "fleet-dev-proxy",
    });
  });

  test.each([
    [() => imageLogicalName("1.2.3"), "app-1.2.3"],
    [() => localImageTag("1.2.3"), "fleet-app:1.2.3"],
    [() => registryImageTag("ghcr.io/acme/fleet-app", "1.2.3"), "ghcr.io/acme/fleet-app:1.2.3"],
    [() => backupHostDir("/srv/backups/", "homebrews"), "/srv/backups/homebrews"],
    [() => backupHostDir("/srv/backups", "homebrews"), "/srv/backups/homebrews"],
  ])("%s", (name, expected) => {
    expect(name()).toBe(expected);
  });
});

describe("labels", () => {
  test("app container: managed, stack, instance, role, version (sorted)", () => {
    expect(fleetLabels({ stack: "dev", role: "app", instance: "homebrews", version: "1.0.0" })).toEqual([
      { label: "fleet.instance", value: "homebrews" },
      { label: "fleet.managed", value: "true" },
      { label: "fleet.role", value: "app" },
      { label: "fleet.stack", value: "dev" },
      { label: "fleet.version", value: "1.0.0" },
    ]);
  });

  test("proxy: no instance, no version", () => {
    expect(fleetLabels({ stack: "prod", role: "proxy" })).toEqual([
      { label: "fleet.managed", value: "true" },
      { label: "fleet.role", value: "proxy" },
      { label: "fleet.stack", value: "prod" },
    ]);
  });
});
