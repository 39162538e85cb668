import { describe, expect, test } from "vitest";
import { mainCaddyfile, routeLink, siteBlock, siteFile, socketDir } from "../components/proxy-config";

/** The whole proxy configuration of a fleet: the main Caddyfile and every site file. */
function proxyFiles(instances: { name: string; port: number; domain?: string }[]) {
  return {
    "/etc/caddy/Caddyfile": mainCaddyfile({ adminPort: 2019 }),
    ...Object.fromEntries(
      instances.map((i) => [
        siteFile(i.name),
        siteBlock({
          instance: i.name,
          port: i.port,
          ...(i.domain ? { domain: i.domain } : {}),
        }),
      ]),
    ),
  };
}

const MAIN = [
  "# Managed by fleet. Global options; each instance's site is a file in /data/sites.",
  "{",
  "\tadmin 127.0.0.1:2019",
  "}",
  "",
  "import /data/sites/*.caddy",
  "",
].join("\n");

function site(name: string, addresses: string): string {
  return [
    `# fleet instance ${name}`,
    `${addresses} {`,
    `\treverse_proxy unix//data/routes/${name}.sock {`,
    "\t\tlb_try_duration 5s",
    "\t\ttransport http {",
    "\t\t\tkeepalive off",
    "\t\t}",
    "\t}",
    "}",
    "",
  ].join("\n");
}

describe("proxy configuration", () => {
  test("the main Caddyfile takes the admin port", () => {
    expect(mainCaddyfile({ adminPort: 2100 })).toBe(MAIN.replace("2019", "2100"));
  });

  test("1 instance", () => {
    expect(proxyFiles([{ name: "homebrews", port: 5001 }])).toEqual({
      "/etc/caddy/Caddyfile": MAIN,
      "/data/sites/homebrews.caddy": site("homebrews", ":5001"),
    });
  });

  test("2 instances, one with a domain", () => {
    expect(
      proxyFiles([
        { name: "homebrews", port: 5001 },
        { name: "projects", port: 5002, domain: "projects.example.com" },
      ]),
    ).toEqual({
      "/etc/caddy/Caddyfile": MAIN,
      "/data/sites/homebrews.caddy": site("homebrews", ":5001"),
      "/data/sites/projects.caddy": site("projects", ":5002, projects.example.com"),
    });
  });

  test("10 instances: one site file each, the main Caddyfile unchanged", () => {
    const instances = Array.from({ length: 10 }, (_, k) => ({ name: `app-${k}`, port: 6000 + k }));
    const expected: Record<string, string> = { "/etc/caddy/Caddyfile": MAIN };
    for (let k = 0; k < 10; k++) expected[`/data/sites/app-${k}.caddy`] = site(`app-${k}`, `:${6000 + k}`);
    expect(proxyFiles(instances)).toEqual(expected);
  });

  test("the paths of an instance's socket directory and route", () => {
    expect([socketDir("homebrews"), routeLink("homebrews")]).toEqual([
      "/sockets/homebrews",
      "/data/routes/homebrews.sock",
    ]);
  });
});
