import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { fleetLabels, proxyNames } from "./naming";
import { IGNORE_CHANGES, LOG_OPTS } from "./provider-forms";
import { MAIN_CADDYFILE, mainCaddyfile, SOCKETS_DIR } from "./proxy-config";

/** Arguments of {@link FleetProxy}. */
export interface FleetProxyArgs {
  /** Stack name, part of the container's fixed Docker name `fleet-<stack>-proxy`. */
  readonly stack: string;
  /** Caddy image. Default in the stack config: `caddy:2`. */
  readonly image: string;
  /** Port of Caddy's admin API on the host's loopback. Default in the stack config: 2019. */
  readonly adminPort: number;
}

/**
 * The reverse proxy that owns the public ports: one Caddy container per Docker host.
 *
 * It runs on the host network, so it can listen on any instance's port without being re-created
 * when an instance is added. A fleet network would need the proxy to publish every instance port,
 * which means re-creating it, and so dropping connections, whenever one is added. It reaches the
 * app containers through their unix sockets in the stack's sockets volume (see proxy-config.ts).
 */
export class FleetProxy extends pulumi.ComponentResource {
  /** Docker name of the proxy container (`fleet-<stack>-proxy`), the target of `docker exec`. */
  public readonly containerName: pulumi.Output<string>;
  /** Docker name of the volume holding Caddy's certificates and state. */
  public readonly dataVolume: pulumi.Output<string>;
  /** Docker name of the sockets volume: every app container creates its socket there. */
  public readonly socketsVolume: pulumi.Output<string>;

  constructor(name: string, args: FleetProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:index:FleetProxy", name, {}, opts);
    const self = { parent: this };
    const names = proxyNames(args.stack);

    const image = new docker.RemoteImage(names.image, { name: args.image, keepLocally: true }, self);

    // Certificates from automatic HTTPS live here: kept when the proxy goes away.
    const data = new docker.Volume(
      names.data,
      { name: names.dockerData, labels: fleetLabels({ stack: args.stack, role: "data" }) },
      { ...self, retainOnDelete: true },
    );

    // The app containers' unix sockets. A tmpfs: nothing in it needs to survive the last container
    // using it (each app re-creates its socket at start), and its mode lets the apps' uid create
    // them (a new disk volume's root would belong to root). driver_opts are read back as given
    // (resourceDockerVolumeRead sets them from the volume's Options).
    const sockets = new docker.Volume(
      names.sockets,
      {
        name: names.dockerSockets,
        driver: "local",
        driverOpts: { type: "tmpfs", device: "tmpfs", o: "mode=1777" },
        labels: fleetLabels({ stack: args.stack, role: "sockets" }),
      },
      self,
    );

    const container = new docker.Container(
      names.container,
      {
        name: names.dockerContainer,
        image: image.imageId,
        networkMode: "host",
        restart: "unless-stopped",
        command: ["caddy", "run", "--config", MAIN_CADDYFILE, "--adapter", "caddyfile"],
        envs: ["XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"],
        // Read-only: the proxy only connects to the sockets (connect(2) works on a read-only mount).
        volumes: [
          { volumeName: data.name, containerPath: "/data" },
          { volumeName: sockets.name, containerPath: SOCKETS_DIR, readOnly: true },
        ],
        uploads: [{ file: MAIN_CADDYFILE, content: mainCaddyfile({ adminPort: args.adminPort }) }],
        labels: fleetLabels({ stack: args.stack, role: "proxy" }),
        logDriver: "json-file",
        logOpts: LOG_OPTS,
      },
      { ...self, ignoreChanges: IGNORE_CHANGES },
    );

    this.containerName = container.name;
    this.dataVolume = data.name;
    this.socketsVolume = sockets.name;
    this.registerOutputs({
      containerName: this.containerName,
      dataVolume: this.dataVolume,
      socketsVolume: this.socketsVolume,
    });
  }
}
