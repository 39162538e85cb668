/**
 * The app image on a size-limited volume for the docker tier's disk tests: a tmpfs-backed local
 * volume of a few MB holds the data and its backups, as a small disk would. The container runs
 * with the program's hardening (non-root, read-only root) and a published loopback port.
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import { DATA_DIR, ENV, envEntry, LABEL } from "../../components/app-contract";
import { api, buildAppImage, ROOT, TIER_LABEL } from "./engine";
import { docker } from "./replay";

const MB = 1024 * 1024;

/** An answer of the app: status and body (JSON parsed when it is JSON, else the bytes). */
export interface Answer<T> {
  readonly status: number;
  readonly body: T;
  readonly bytes: Buffer;
}

/**
 * One request on a new connection (`agent: false`). fetch reuses keep-alive connections, and on a
 * loaded machine a connection the server has just closed as idle (Node's 5 s keepAliveTimeout)
 * is reused late and fails with "other side closed": the disk tests idle while the disk fills.
 */
export async function call<T>(
  port: number,
  method: string,
  path: string,
  token: string,
  body?: string | FormData,
): Promise<Answer<T>> {
  let payload: Buffer | undefined;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (typeof body === "string") {
    payload = Buffer.from(body);
    headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    // The multipart encoding fetch would send.
    const encoded = new Request("http://localhost/", { method: "POST", body });
    payload = Buffer.from(await encoded.arrayBuffer());
    headers["content-type"] = encoded.headers.get("content-type")!;
  }
  if (payload) headers["content-length"] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        let parsed: unknown = bytes.toString("utf8");
        try {
          parsed = JSON.parse(parsed as string);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T, bytes });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** One app container on a small volume, and the calls the disk tests make. */
export interface SmallVolumeApp {
  readonly container: string;
  readonly port: number;
  readonly token: string;
  /** A request with the admin token on a new connection ({@link call}). */
  call<T>(method: string, path: string, body?: string | FormData): Promise<Answer<T>>;
  /** Bytes free on the volume, as the container sees them. */
  freeBytes(): Promise<number>;
  /** Creates an entry of the first type. */
  entry(title: string): Promise<{ status: number; body: { id: number; message?: string } }>;
  /** Uploads bytes as an attachment of an entry. */
  upload(entryId: number, bytes: Buffer): Promise<{ status: number; body: { id?: number; message?: string } }>;
  /** `PRAGMA integrity_check` of the live database, read-only. */
  integrity(): Promise<string>;
}

/**
 * Builds the app image as `<repo>:1.0.0` and starts it on a new tmpfs volume of `megabytes`,
 * labelled `fleet.stack=<stack>` (cleanUp removes both). Blobs older than 1 s may be collected.
 */
export async function startOnSmallVolume(stack: string, repo: string, megabytes: number): Promise<SmallVolumeApp> {
  const image = `${repo}:1.0.0`;
  const volume = `fleet-${stack}-small`;
  const container = `fleet-${stack}-app`;
  const token = randomBytes(18).toString("hex");
  await buildAppImage(image, join(ROOT, "app"), "1.0.0");
  // moby's local driver mounts `type=tmpfs` with these options (volume/local/local_unix.go mount).
  await docker([
    "volume",
    "create",
    "--label",
    `${LABEL.stack}=${stack}`,
    "--label",
    TIER_LABEL,
    "--driver",
    "local",
    "--opt",
    "type=tmpfs",
    "--opt",
    "device=tmpfs",
    "--opt",
    `o=size=${megabytes}m,uid=10001,gid=10001`,
    volume,
  ]);
  await docker([
    "run",
    "-d",
    "--name",
    container,
    "--label",
    `${LABEL.stack}=${stack}`,
    "--user",
    "10001:10001",
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges:true",
    "-v",
    `${volume}:${DATA_DIR}`,
    "-e",
    envEntry(ENV.appName, "disk"),
    "-e",
    envEntry(ENV.dataDir, DATA_DIR),
    "-e",
    envEntry(ENV.backupDir, `${DATA_DIR}/backups`),
    "-e",
    envEntry(ENV.adminToken, token),
    "-e",
    "BLOB_GRACE_SECONDS=1",
    "-p",
    "127.0.0.1::8080",
    image,
  ]);
  const port = Number((await docker(["port", container, "8080/tcp"])).split("\n")[0]!.split(":").at(-1));
  for (let i = 0; i < 240; i++) {
    const health = await api(port, "/api/health").catch(() => ({ status: 0 }));
    if (health.status === 200) break;
    if (i === 239) throw new Error(`the app on ${volume} did not answer /api/health within 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const types = await call<{ items: { id: number }[] }>(port, "GET", "/api/types", token);
  const typeId = types.body.items[0]!.id;
  return {
    container,
    port,
    token,
    async freeBytes() {
      const out = await docker(["exec", container, "df", "-B1", "--output=avail", "/data"]);
      return Number(out.split("\n").at(-1)!.trim());
    },
    call: (method, path, body) => call(port, method, path, token, body),
    entry: (title) => call(port, "POST", "/api/entries", token, JSON.stringify({ typeId, title })),
    upload(entryId, bytes) {
      const form = new FormData();
      form.append("file", new Blob([bytes], { type: "application/octet-stream" }), "blob.bin");
      return call(port, "POST", `/api/entries/${entryId}/attachments`, token, form);
    },
    integrity: () =>
      docker([
        "exec",
        container,
        "node",
        "-e",
        "const D=require('better-sqlite3');const d=new D('/data/app.db',{readonly:true});console.log(d.prepare('PRAGMA integrity_check').pluck().get())",
      ]),
  };
}

export { MB };
