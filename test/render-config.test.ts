import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadStackConfig } from "../ops/commands/render";

const project = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-config-"));
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

fs.writeFileSync(
  path.join(project, "Pulumi.yaml"),
  [
    "name: fleet",
    "runtime: nodejs",
    "config:",
    "  version:",
    "    type: string",
    "    description: v",
    "  proxyAdminPort:",
    "    type: integer",
    "    description: p",
    "    default: 2019",
    "  aws:region: eu-west-1",
    "",
  ].join("\n"),
);
fs.writeFileSync(
  path.join(project, "Pulumi.prod.yaml"),
  [
    "config:",
    "  fleet:version: 2.1.0",
    "  fleet:proxyAdminPort: 2100",
    "  fleet:apiKey:",
    "    secure: v1:abc",
    "  fleet:secretEnv:",
    "    homebrews:",
    "      SMTP_PASSWORD:",
    "        secure: v1:def",
    "",
  ].join("\n"),
);

describe("the config render hands the program", () => {
  test("Pulumi.yaml defaults, then the stack file, then overrides; encrypted values hidden and secret", () => {
    expect(loadStackConfig(project, "prod", { version: "2.2.0", "other:key": "x" })).toEqual({
      project: "fleet",
      config: {
        "fleet:proxyAdminPort": "2100",
        "aws:region": "eu-west-1",
        "fleet:version": "2.2.0",
        "fleet:apiKey": "[secret]",
        "fleet:secretEnv": '{"homebrews":{"SMTP_PASSWORD":"[secret]"}}',
        "other:key": "x",
      },
      secretKeys: ["fleet:secretEnv", "fleet:apiKey"],
    });
  });

  test("a stack without a file gets only the defaults", () => {
    expect(loadStackConfig(project, "nope")).toEqual({
      project: "fleet",
      config: { "fleet:proxyAdminPort": "2019", "aws:region": "eu-west-1" },
      secretKeys: [],
    });
  });
});
