/**
 * The replayer's accepted inputs against the providers' schemas, as their npm packages ship them
 * (the `*Args` interfaces of @pulumi/docker, @pulumi/command and @pulumi/random, nested types from
 * `types/input.d.ts`), and against what the program really sends (`npm run render`), and against
 * the drift check's mirror of Read. Each check is a function returning its problems, so a test
 * can show that it fails.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { beforeAll, describe, expect, test } from "vitest";
import { render, type RenderResult } from "../ops/commands/render";
import { CONTAINER_NOT_READ, CONTAINER_READ } from "./docker/read-back";
import { ACCEPTED_INPUTS, checkInputs, type InputTree } from "./docker/replay";

const ROOT = path.resolve(__dirname, "..");

/** Where each resource type's `*Args` interface is declared. */
const ARGS: Readonly<Record<string, readonly [pkg: string, file: string, iface: string]>> = {
  "docker:index/container:Container": ["@pulumi/docker", "container.d.ts", "ContainerArgs"],
  "docker:index/volume:Volume": ["@pulumi/docker", "volume.d.ts", "VolumeArgs"],
  "docker:index/remoteImage:RemoteImage": ["@pulumi/docker", "remoteImage.d.ts", "RemoteImageArgs"],
  "docker:index/image:Image": ["@pulumi/docker", "image.d.ts", "ImageArgs"],
  "docker:index/service:Service": ["@pulumi/docker", "service.d.ts", "ServiceArgs"],
  "docker:index/secret:Secret": ["@pulumi/docker", "secret.d.ts", "SecretArgs"],
  "pulumi:providers:docker": ["@pulumi/docker", "provider.d.ts", "ProviderArgs"],
  "command:local:Command": ["@pulumi/command", "local/command.d.ts", "CommandArgs"],
  "random:index/randomPassword:RandomPassword": ["@pulumi/random", "randomPassword.d.ts", "RandomPasswordArgs"],
};

/** Members of an interface: name -> the `inputs.X` type it refers to, if any. */
function members(file: string, iface: string): Map<string, string | undefined> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const found = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === iface,
  );
  if (!found) throw new Error(`no interface ${iface} in ${file}`);
  return new Map(
    found.members.filter(ts.isPropertySignature).map((m) => {
      const type = m.type?.getText(source) ?? "";
      return [m.name.getText(source), /\binputs\.(\w+)/.exec(type)?.[1]];
    }),
  );
}

/** Accepted input names the schema lacks, as `type path`. */
export function notInSchema(accepted: Readonly<Record<string, InputTree>>): string[] {
  const problems: string[] = [];
  for (const [type, tree] of Object.entries(accepted)) {
    const args = ARGS[type];
    if (!args) {
      problems.push(`${type}: no schema known`);
      continue;
    }
    const [pkg, file, iface] = args;
    const dir = path.join(ROOT, "node_modules", pkg);
    const walk = (node: InputTree, schema: Map<string, string | undefined>, at: string) => {
      for (const [name, sub] of Object.entries(node)) {
        if (!schema.has(name)) {
          problems.push(`${type} ${at}${name}`);
          continue;
        }
        const nested = schema.get(name);
        if (typeof sub === "object" && nested)
          walk(sub, members(path.join(dir, "types/input.d.ts"), nested), `${at}${name}.`);
      }
    };
    walk(tree, members(path.join(dir, file), iface), "");
  }
  return problems;
}

/** Inputs a render uses that the replayer does not accept, as the replayer's error lines. */
export function notAccepted(render: RenderResult, accepted: Readonly<Record<string, InputTree>>): string[] {
  const problems: string[] = [];
  for (const r of render.resources.filter((x) => x.custom)) {
    const tree = accepted[r.type];
    if (!tree) {
      problems.push(`${r.type} ${r.name}: type not supported`);
      continue;
    }
    try {
      checkInputs(`${r.type} ${r.name}`, r.inputs, tree);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

describe("the replayer's inputs", () => {
  let renders: RenderResult[];
  beforeAll(async () => {
    // The examples (backups volume, generated tokens), a variant with a backup host directory, a
    // Docker host, a domain, backups off and a registry image, and the examples on a swarm.
    const dir = fs.mkdtempSync(path.join(ROOT, "node_modules", ".fleet-schema-"));
    fs.writeFileSync(path.join(dir, "a.yaml"), "port: 5001\ndomain: a.example.com\nbackup:\n  enabled: false\n");
    fs.writeFileSync(path.join(dir, "b.yaml"), "port: 5002\nversion: 1.0.0\n");
    renders = [
      await render({}),
      await render({
        instancesDir: dir,
        version: "1.1.0",
        config: {
          "fleet:backupDir": "/srv/fleet-backups",
          "fleet:dockerHost": "unix:///run/docker.sock",
          "fleet:image": "ghcr.io/example/fleet-app",
        },
      }),
      await render({
        config: {
          "fleet:image": "ghcr.io/example/fleet-app",
          "fleet:target": "swarm",
          "fleet:placement": JSON.stringify({ "*": "node-1" }),
          "fleet:secretEnv": JSON.stringify({ projects: { SMTP_PASSWORD: "pw" } }),
        },
      }),
    ];
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test("every name the replayer accepts is in the providers' schemas", () => {
    expect(notInSchema(ACCEPTED_INPUTS)).toEqual([]);
  });

  test("the schema check fails for a name the schema lacks, at any depth", () => {
    const container = ACCEPTED_INPUTS["docker:index/container:Container"]!;
    const tampered = {
      ...ACCEPTED_INPUTS,
      "docker:index/container:Container": {
        ...container,
        gpuz: true,
        healthcheck: { ...(container.healthcheck as InputTree), intervalSeconds: true },
      },
    } as const;
    expect(notInSchema(tampered)).toEqual([
      "docker:index/container:Container healthcheck.intervalSeconds",
      "docker:index/container:Container gpuz",
    ]);
  });

  test("every input the program sends is one the replayer accepts", () => {
    expect(renders.flatMap((r) => notAccepted(r, ACCEPTED_INPUTS))).toEqual([]);
    // The renders cover every resource type the replayer knows.
    expect(new Set(renders.flatMap((r) => r.resources.filter((x) => x.custom).map((x) => x.type)))).toEqual(
      new Set(Object.keys(ACCEPTED_INPUTS)),
    );
  });

  test("the program check fails for an input the replayer does not handle", () => {
    const container = Object.fromEntries(
      Object.entries(ACCEPTED_INPUTS["docker:index/container:Container"]!).filter(([name]) => name !== "logOpts"),
    );
    const narrowed = { ...ACCEPTED_INPUTS, "docker:index/container:Container": container };
    expect(notAccepted(renders[0]!, narrowed)).toEqual([
      "replayer: docker:index/container:Container proxy has inputs it cannot translate: logOpts",
      "replayer: docker:index/container:Container homebrews-app has inputs it cannot translate: logOpts",
      "replayer: docker:index/container:Container homebrews-backup has inputs it cannot translate: logOpts",
      "replayer: docker:index/container:Container projects-app has inputs it cannot translate: logOpts",
      "replayer: docker:index/container:Container projects-backup has inputs it cannot translate: logOpts",
    ]);
  });

  test("every container input the replayer accepts is either read back by the drift check or known not to be", () => {
    const accepted = Object.keys(ACCEPTED_INPUTS["docker:index/container:Container"]!);
    expect(accepted.filter((name) => !(name in CONTAINER_READ) && !(name in CONTAINER_NOT_READ))).toEqual([]);
    expect(Object.keys(CONTAINER_NOT_READ).filter((name) => name in CONTAINER_READ)).toEqual([]);
  });
});
