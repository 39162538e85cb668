import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { imageLogicalName, localImageTag, registryImageTag } from "./naming";

/** Where the app image comes from. */
export type ImageSource =
  | {
      /** Build `context` with its Dockerfile (the default: a fresh machine needs no registry). */
      readonly kind: "build";
      /** Build context, relative to the project. Default `app`. */
      readonly context: string;
      /**
       * Git tree hash of the build context (build arg REVISION). No build date: the image is named
       * by its content alone, so every clone of one commit builds the same image.
       */
      readonly revision: string;
    }
  | {
      /** Pull `<repository>:<version>` and pin it by digest. */
      readonly kind: "registry";
      /** Registry repository without tag, e.g. `ghcr.io/owner/fleet-app`. */
      readonly repository: string;
    };

/** Arguments of {@link FrameworkImage}. */
export interface FrameworkImageArgs {
  /** The stack's `fleet:version`: the version built in build mode. */
  readonly version: string;
  /** Every version some instance runs (the stack version and pinned ones). */
  readonly versions: readonly string[];
  /** Build locally (default) or pull from a registry. */
  readonly source: ImageSource;
}

/**
 * The framework app image, one child `app-<version>` per version in use.
 *
 * Build mode: the stack version is built from `app/` and tagged `fleet-app:<version>`; a pinned
 * version refers to the local tag an earlier `pulumi up` built (`keepLocally`, so removing the pin
 * never deletes an image another stack may use). Registry mode: every version is pulled.
 */
export class FrameworkImage extends pulumi.ComponentResource {
  /** Version -> image reference a container runs: image ID (local) or `repo@sha256:...` (registry). */
  public readonly refs: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: FrameworkImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:FrameworkImage", name, {}, opts);
    const self = { parent: this };
    const refs: Record<string, pulumi.Output<string>> = {};
    for (const version of [...new Set(args.versions)].sort()) {
      const childName = imageLogicalName(version);
      if (args.source.kind === "registry") {
        const image = new docker.RemoteImage(
          childName,
          { name: registryImageTag(args.source.repository, version), keepLocally: true },
          self,
        );
        // repoDigest is `repo@sha256:...` for a pulled image: containers are pinned by digest.
        refs[version] = image.repoDigest;
      } else if (version === args.version) {
        const image = new docker.Image(
          childName,
          {
            imageName: localImageTag(version),
            skipPush: true,
            build: {
              context: args.source.context,
              dockerfile: `${args.source.context}/Dockerfile`,
              // Only the classic builder is guaranteed on a plain Docker engine (no buildx).
              builderVersion: "BuilderV1",
              args: {
                VERSION: version,
                REVISION: args.source.revision,
              },
            },
          },
          self,
        );
        // For a local (unpushed) image, repoDigest is the image ID `sha256:...`, unique per build.
        // https://www.pulumi.com/registry/packages/docker/api-docs/image/ (repoDigest)
        refs[version] = image.repoDigest;
      } else {
        // The provider looks for the tag among local images first and pulls only when it is absent
        // (kreuzwerker/terraform-provider-docker, resource_docker_image_funcs.go findImage).
        const image = new docker.RemoteImage(childName, { name: localImageTag(version), keepLocally: true }, self);
        refs[version] = image.imageId;
      }
    }
    this.refs = refs;
    this.registerOutputs({ refs });
  }

  /** The image reference for a version; throws if the version was not declared. */
  ref(version: string): pulumi.Output<string> {
    const ref = this.refs[version];
    if (!ref) throw new pulumi.ResourceError(`no image for version ${version}`, this);
    return ref;
  }
}
