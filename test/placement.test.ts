/** The swarm target's rules: which node an instance runs on, and what the target needs. */
import { describe, expect, test } from "vitest";
import { nodeConstraint, placementNode, targetProblems } from "../components/placement";
import { parseInstanceText, type Fleet } from "../components/fleet";
import type { InstanceSpec } from "../components/spec";

function fleet(files: Record<string, string>): Fleet {
  const instances: InstanceSpec[] = [];
  const names: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    const parsed = parseInstanceText(text, `instances/${name}.yaml`, name);
    if (!parsed.spec) throw new Error(parsed.problems.join("\n"));
    instances.push(parsed.spec);
    names[name] = `instances/${name}.yaml`;
  }
  return { instances, files: names };
}

const TWO = fleet({ blog: "port: 5001\n", shop: "port: 5002\n" });
const REGISTRY = "registry.example.com/fleet-app";

describe("placementNode", () => {
  test.each([
    [{ blog: "node-2", "*": "node-1" }, "blog", "node-2"],
    [{ blog: "node-2", "*": "node-1" }, "shop", "node-1"],
    [{ blog: "node-2" }, "shop", undefined],
    [{}, "blog", undefined],
  ])("%o places %s on %s", (placement, instance, node) => {
    expect(placementNode(placement, instance)).toBe(node);
  });

  test("the constraint pins the task to the node by hostname", () => {
    expect(nodeConstraint("node-1")).toBe("node.hostname==node-1");
  });
});

describe("targetProblems", () => {
  test.each([
    ["docker, no placement", { target: "docker", image: "build", placement: {} }, TWO, []],
    ["swarm, every instance placed by *", { target: "swarm", image: REGISTRY, placement: { "*": "n1" } }, TWO, []],
    [
      "swarm, one instance placed, no default",
      { target: "swarm", image: REGISTRY, placement: { blog: "n1" } },
      TWO,
      [
        "fleet:placement.shop: required with fleet:target swarm (the data volume lives on one node): " +
          "pulumi config set --path 'fleet:placement.shop' <node hostname>",
      ],
    ],
    [
      "swarm with a locally built image",
      { target: "swarm", image: "build", placement: { "*": "n1" } },
      TWO,
      [
        'fleet:image: "build" cannot run on a swarm (every node pulls the image); push the image and set ' +
          "fleet:image to its registry repository, e.g. ghcr.io/owner/fleet-app",
      ],
    ],
    [
      "a placement naming no instance, on either target",
      { target: "swarm", image: REGISTRY, placement: { "*": "n1", blgo: "n2" } },
      TWO,
      ['fleet:placement.blgo: no instance file defines "blgo"; did you mean "blog"?'],
    ],
    [
      "placement on the docker target",
      { target: "docker", image: "build", placement: { blog: "n1" } },
      TWO,
      ["fleet:placement: only read with fleet:target swarm; remove it, or set fleet:target swarm"],
    ],
    [
      "a domain on the swarm target",
      { target: "swarm", image: REGISTRY, placement: { "*": "n1" } },
      fleet({ blog: "port: 5001\ndomain: blog.example.com\n" }),
      [
        "instances/blog.yaml: domain: not served with fleet:target swarm (no proxy runs in front of the services); " +
          "remove it and point the domain at a node, or use fleet:target docker",
      ],
    ],
    [
      "off-site copies on the swarm target",
      {
        target: "swarm",
        image: REGISTRY,
        placement: { "*": "n1" },
        offsite: {
          repository: "/srv/restic",
          password: "pw",
          keepDaily: 7,
          keepWeekly: 4,
          keepMonthly: 12,
          intervalSeconds: 60,
          check: "0 4 * * 0",
          prune: "30 4 * * *",
          env: {},
        },
      },
      TWO,
      [
        "fleet:offsite: not wired for fleet:target swarm yet (each node holds its instances' backups); remove it, " +
          "or use fleet:target docker",
      ],
    ],
    [
      "the dashboard on the swarm target",
      { target: "swarm", image: REGISTRY, placement: { "*": "n1" }, dashboardPort: 8090 },
      TWO,
      [
        "fleet:dashboardPort: 8090 cannot be served with fleet:target swarm (the dashboard reads each instance's " +
          "unix socket in the proxy's sockets volume, and a swarm runs no proxy); remove it " +
          "(pulumi config rm fleet:dashboardPort), or use fleet:target docker",
      ],
    ],
    [
      "the dashboard on the docker target",
      { target: "docker", image: "build", placement: {}, dashboardPort: 8090 },
      TWO,
      [],
    ],
  ] as const)("%s", (_what, config, f, expected) => {
    expect(targetProblems(config, f)).toEqual(expected);
  });
});
