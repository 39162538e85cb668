/**
 * The dashboard in the rendered program (`fleet:dashboardPort`): what it adds, that a second
 * render plans the same inputs (no diff on a second up), and the ports it takes.
 */
import { describe, expect, test } from "vitest";
import { render, RenderError } from "../ops/commands/render";

describe("fleet:dashboardPort", () => {
  test("on: the dashboard, its token and one status token per instance; the same plan twice; no token in the output", async () => {
    const off = await render();
    const on = await render({ config: { dashboardPort: "5090" } });
    const names = (r: typeof on) => r.resources.map((x) => x.name);
    expect(names(on).filter((n) => !names(off).includes(n))).toEqual([
      "homebrews-status-token",
      "projects-status-token",
      "dashboard",
      "dashboard-token",
      "dashboard-app",
      "dashboard-route",
    ]);
    // Only the app containers change (STATUS_TOKEN): nothing else of an instance moves.
    const key = (r: { type: string; name: string }) => `${r.type} ${r.name}`;
    const changed = off.resources
      .filter((r) => JSON.stringify(r) !== JSON.stringify(on.resources.find((x) => key(x) === key(r))))
      .map((r) => r.name);
    expect(changed).toEqual(["homebrews-app", "projects-app"]);
    const again = await render({ config: { dashboardPort: "5090" } });
    expect(again.resources).toEqual(on.resources);
    const dashboard = on.resources.find((r) => r.name === "dashboard-app")!;
    expect((dashboard.inputs["envs"] as string[]).slice(4)).toEqual([
      'DASHBOARD_INSTANCES=[{"name":"homebrews","title":"Homebrews","version":"1.0.0","route":":5001","backupSchedule":"0 3 * * *"},' +
        '{"name":"projects","title":"Projects","version":"1.0.0","route":":5002","backupSchedule":"0 3 * * *"}]',
      "[secret]",
      "[secret]",
    ]);
    expect(on.outputs["dashboardUrl"]).toBe("http://localhost:5090");
    expect(on.outputs["dashboardToken"]).toBe("[secret]");
  }, 300_000);

  test("an instance on the dashboard's port, or the dashboard on the proxy's admin port, is refused", async () => {
    const clash = await render({ config: { dashboardPort: "5001" } }).catch((e: unknown) => e);
    expect(clash).toBeInstanceOf(RenderError);
    expect((clash as RenderError).message).toContain(
      "instances/homebrews.yaml: port: 5001 is used by the fleet dashboard (fleet:dashboardPort)",
    );
    const admin = await render({ config: { dashboardPort: "2019" } }).catch((e: unknown) => e);
    expect((admin as RenderError).message).toBe(
      "Invalid stack config:\n  fleet:dashboardPort: 2019 is fleet:proxyAdminPort (the proxy's admin API); choose another port",
    );
  }, 300_000);
});
