import { mkdirSync } from "node:fs";
import path from "node:path";
import type { DashboardConfig } from "../src/dashboard";
import { AUTH, makeApp, tempDir } from "./helpers";

export const DASHBOARD_TOKEN = "dashboard-token-0123456789abcdef";
export const STATUS = {
  homebrews: "status-homebrews-0123456789abcdef",
  projects: "status-projects-0123456789abcdef",
  recipes: "status-recipes-0123456789abcdef",
};

/**
 * A fleet on unix sockets, as the dashboard sees it: homebrews healthy on 1.0.0 with a backup,
 * projects on 0.9.0 where 1.0.0 is declared, recipes declared but with no container.
 */
export async function fleetOnSockets(): Promise<{
  socketsDir: string;
  config: DashboardConfig;
  start: (name: "recipes") => Promise<void>;
}> {
  const socketsDir = path.join(tempDir("fleet-sockets-"), "s");
  const listen = async (name: string, env: Record<string, string>) => {
    const { app } = await makeApp({ env: { APP_NAME: name, ...env } });
    mkdirSync(path.join(socketsDir, name), { recursive: true });
    await app.listen({ path: path.join(socketsDir, name, "c0ffee000001.sock") });
    return app; // closed by makeApp's cleanup
  };
  const homebrews = await listen("homebrews", { STATUS_TOKEN: STATUS.homebrews });
  const created = await homebrews.inject({ method: "POST", url: "/api/backups", headers: AUTH, payload: { reason: "scheduled" } });
  if (created.statusCode !== 201) throw new Error(created.body);
  await listen("projects", { STATUS_TOKEN: STATUS.projects, APP_VERSION: "0.9.0" });
  const config: DashboardConfig = {
    port: 0,
    host: "127.0.0.1",
    socketDir: undefined,
    socketsDir,
    adminToken: DASHBOARD_TOKEN,
    stack: "dev",
    instances: [
      { name: "homebrews", title: "HomeBrews", version: "1.0.0", route: ":5001", backupSchedule: "0 3 * * *" },
      { name: "projects", title: "Projects", version: "1.0.0", route: ":5002", backupSchedule: "0 3 * * *" },
      { name: "recipes", title: "Recipes", version: "1.0.0", route: ":5003", backupSchedule: null },
    ],
    statusTokens: STATUS,
    refreshSeconds: 2,
  };
  return { socketsDir, config, start: async (name) => void (await listen(name, { STATUS_TOKEN: STATUS[name] })) };
}
