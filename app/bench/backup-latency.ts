import http from "node:http";

/** What {@link healthDuringBackups} measured. */
export interface HealthDuringBackups {
  /** /api/health response times while a backup ran, sorted, in ms. */
  readonly during: number[];
  /** /api/health response times with nothing else running, sorted, in ms. */
  readonly idle: number[];
  /** Wall time of each POST /api/backups, in ms. */
  readonly backups: number[];
}

function get(agent: http.Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`health ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}

function post(url: URL, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString("utf8")));
        res.on("end", () => (res.statusCode === 201 ? resolve() : reject(new Error(`backup ${res.statusCode}: ${body}`))));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ reason: "bench" }));
  });
}

/** Polls /api/health back to back on `connections` keep-alive connections until `until` settles. */
async function poll(base: string, connections: number, until: Promise<unknown>): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL("/api/health", base);
  const times: number[] = [];
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (!done) times.push(await get(agent, url));
      }),
    );
  } finally {
    agent.destroy();
  }
  return times.sort((a, b) => a - b);
}

/**
 * Response times of /api/health on a running server while `rounds` backups run one after another
 * through POST /api/backups (the admin API runs them in a child process), and for the same time
 * with nothing else running.
 */
export async function healthDuringBackups(base: string, token: string, rounds = 3, connections = 2): Promise<HealthDuringBackups> {
  const backups: number[] = [];
  const run = (async () => {
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await post(new URL("/api/backups", base), token);
      backups.push(performance.now() - t0);
    }
  })();
  const during = await poll(base, connections, run);
  await run;
  const idleFor = backups.reduce((a, b) => a + b, 0) / rounds;
  const idle = await poll(base, connections, new Promise((r) => setTimeout(r, idleFor)));
  return { during, idle, backups };
}
