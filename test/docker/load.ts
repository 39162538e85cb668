/**
 * Steady HTTP load for the roll tests, through `hey` (Debian's package of rakyll/hey).
 *
 * By default each request opens a new connection (`-disable-keepalive`); `keepAlive` makes each
 * worker reuse one connection. A Caddy reload closes the old server's idle keep-alive connections,
 * and a request sent on one at that instant is reset: browsers retry those, load tools do not. A
 * roll does not reload (docs/architecture.md), so both kinds must see no failure.
 */
import { spawn, type ChildProcess } from "node:child_process";

/** Totals parsed from hey's summary. */
export interface LoadResult {
  readonly url: string;
  readonly requests: number;
  readonly status: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly rps: number;
}

/** A running load; `stop()` interrupts hey and returns its totals. */
export interface Load {
  stop(): Promise<LoadResult>;
}

/**
 * Starts `rps` requests per second against `url` (`Infinity`: no limit), until stopped. hey limits each worker to
 * `rps / workers` requests per second and a worker waits for each response, so one worker per 5
 * requests per second holds the rate while responses take up to 200 ms (a busy machine).
 */
export function startLoad(
  url: string,
  rps: number,
  workers = Math.max(2, Math.ceil(rps / 5)),
  opts: { readonly keepAlive?: boolean } = {},
): Load {
  const child: ChildProcess = spawn(
    "hey",
    [
      "-z",
      "3600s",
      "-c",
      String(workers),
      // Infinity: as fast as the workers can go (a capacity measurement).
      ...(Number.isFinite(rps) ? ["-q", String(Math.ceil(rps / workers))] : []),
      "-t",
      "10",
      ...(opts.keepAlive === true ? [] : ["-disable-keepalive"]),
      url,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (e) => reject(new Error(`load: cannot run hey (apt-get install hey): ${e.message}`)));
    child.on("close", () => resolve());
  });
  return {
    async stop() {
      child.kill("SIGINT");
      await done;
      return parseHey(url, out);
    },
  };
}

/** Parses hey's text summary: the status-code and error distributions. */
export function parseHey(url: string, text: string): LoadResult {
  // "  [200]\t478 responses" and "  [2126]\tGet ...: connection refused": the bracket holds the
  // status code in the first section and the count in the second.
  const section = (title: string, countInBrackets: boolean): Record<string, number> => {
    const at = text.indexOf(title);
    if (at < 0) return {};
    const rows: Record<string, number> = {};
    for (const line of text
      .slice(at + title.length)
      .split("\n")
      .slice(1)) {
      const m = /^\s+\[(\d+)\]\s+(.*?)\s*$/.exec(line);
      if (!m) break;
      if (countInBrackets) rows[m[2]!] = Number(m[1]);
      else rows[m[1]!] = Number(/^(\d+)/.exec(m[2]!)?.[1] ?? Number.NaN);
    }
    return rows;
  };
  const status = section("Status code distribution:", false);
  const errors = section("Error distribution:", true);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0);
  if (!text.includes("Summary:")) throw new Error(`load: hey printed no summary for ${url}:\n${text}`);
  const requests = [...Object.values(status), ...Object.values(errors)].reduce((a, b) => a + b, 0);
  return { url, requests, status, errors, rps };
}
