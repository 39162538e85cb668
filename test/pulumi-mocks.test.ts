import * as pulumi from "@pulumi/pulumi";
import { version as sdkVersion } from "@pulumi/pulumi/package.json";
import { describe, expect, test } from "vitest";
import { CHECKED_SDK_VERSION, runUnderMocks } from "../ops/core/pulumi-mocks";

class Group extends pulumi.ComponentResource {
  constructor(name: string) {
    super("test:index:Group", name, {});
  }
}
class Thing extends pulumi.CustomResource {
  constructor(name: string, props: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
    super("test:index:Thing", name, props, opts);
  }
}

// The SDK internals behind ops/core/pulumi-mocks.ts, exercised once on a tiny program. When this
// fails after an SDK upgrade, re-check the fence against the new SDK and move CHECKED_SDK_VERSION.
describe(`the SDK internals render uses, checked against @pulumi/pulumi ${CHECKED_SDK_VERSION}`, () => {
  test("the installed SDK is the checked one", () => {
    expect(sdkVersion).toBe(CHECKED_SDK_VERSION);
  });

  test("registrations in construction order, with options, secrets, references and unknowns decoded", async () => {
    const target = { project: "p", stack: "s", config: { "p:x": "1" }, secretKeys: [] };
    const run = (showSecrets: boolean) =>
      runUnderMocks(
        pulumi,
        target,
        () => {
          const parent = new Group("g");
          const a = new Thing("a", { size: 1 }, { parent, protect: true });
          const c = new Thing("c", {}, { parent });
          const b = new Thing(
            "b",
            { ref: a, secret: pulumi.secret("s3cret"), later: pulumi.output(pulumi.unknown) },
            { parent, dependsOn: [c], deleteBeforeReplace: false, replaceOnChanges: ["*"], retainOnDelete: true },
          );
          return { id: b.id };
        },
        showSecrets,
      );
    const { resources, outputs } = await run(false);
    const options = {
      dependsOn: [],
      protect: false,
      retainOnDelete: false,
      deleteBeforeReplace: null,
      replaceOnChanges: [],
      ignoreChanges: [],
    };
    expect(resources).toEqual([
      { type: "test:index:Group", name: "g", parent: null, custom: false, inputs: {}, options, dependencies: [] },
      {
        type: "test:index:Thing",
        name: "a",
        parent: "g",
        custom: true,
        inputs: { size: 1 },
        options: { ...options, protect: true },
        dependencies: [],
      },
      { type: "test:index:Thing", name: "c", parent: "g", custom: true, inputs: {}, options, dependencies: [] },
      {
        type: "test:index:Thing",
        name: "b",
        parent: "g",
        custom: true,
        inputs: { later: "<<unknown>>", ref: "<<a>>", secret: "[secret]" },
        options: {
          ...options,
          dependsOn: ["c"],
          deleteBeforeReplace: false,
          replaceOnChanges: ["*"],
          retainOnDelete: true,
        },
        // `ref: a` is an implicit dependency: in dependencies, not in the explicit dependsOn.
        dependencies: ["c", "a"],
      },
    ]);
    expect(outputs).toEqual({ id: "<<b.id>>" });
    expect((await run(true)).resources[3]?.inputs["secret"]).toBe("s3cret");
  });
});
