// Usage: node .github/scripts/e2e-assert-fleet.mjs EXPECTED_VERSION PINNED_NAME PINNED_VERSION
//
// After a `pulumi up` of $STACK (ci.yml, job e2e): the stack output `instances` must list exactly
// the instances of instances/, and each must answer through the proxy on its own port:
// /api/health 200, and /api/version (and the stack output `version`) EXPECTED_VERSION, except
// PINNED_NAME, which must report PINNED_VERSION. Prints every mismatch as a GitHub error, then
// exits 1. FLEET_E2E_RETRIES / FLEET_E2E_RETRY_MS tune the wait for the proxy's reload.
import { execFileSync } from "node:child_process";
import { instanceNames } from "./fleet-instances.mjs";

const [expected, pinned, pinnedVersion] = process.argv.slice(2);
const stack = process.env.STACK;
if (!expected || !pinned || !pinnedVersion || !stack) {
  console.error("usage: STACK=<stack> e2e-assert-fleet.mjs EXPECTED_VERSION PINNED_NAME PINNED_VERSION");
  process.exit(2);
}
const retries = Number(process.env.FLEET_E2E_RETRIES ?? 15);
const retryMs = Number(process.env.FLEET_E2E_RETRY_MS ?? 2000);

const error = (msg) => console.log(`::error::${msg}`);

const outputs = JSON.parse(
  execFileSync("pulumi", ["stack", "output", "instances", "--json", "--stack", stack], { encoding: "utf8" }),
);
const want = instanceNames("instances");
const got = Object.keys(outputs).sort();
if (want.join(",") !== got.join(",")) {
  error(`stack output 'instances' lists [${got.join(", ")}], the instance files [${want.join(", ")}]`);
  process.exit(1);
}
if (!want.includes(pinned)) {
  error(`the pinned instance ${pinned} is not deployed`);
  process.exit(1);
}

/** GET url, retrying while the proxy reloads; returns the response or the last error. */
async function get(url) {
  let last;
  for (let i = 0; i <= retries; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return res;
      last = new Error(`HTTP ${res.status}`);
    } catch (e) {
      last = e;
    }
    if (i < retries) await new Promise((r) => setTimeout(r, retryMs));
  }
  throw last;
}

let failures = 0;
for (const name of want) {
  const expect = name === pinned ? pinnedVersion : expected;
  const { url, version: outputVersion } = outputs[name];
  try {
    await get(`${url}/api/health`);
  } catch (e) {
    error(`${name}: ${url}/api/health did not answer 200 (${e.message})`);
    failures++;
    continue;
  }
  let reported;
  try {
    reported = (await (await get(`${url}/api/version`)).json()).version;
  } catch (e) {
    error(`${name}: ${url}/api/version did not answer with JSON (${e.message})`);
    failures++;
    continue;
  }
  if (reported !== expect || outputVersion !== expect) {
    error(`${name}: ${url}/api/version reports ${reported}, stack output version ${outputVersion}, expected ${expect}`);
    failures++;
  } else {
    console.log(`ok: ${name} at ${url} reports ${reported}`);
  }
}
if (failures > 0) {
  error(`${failures} instance(s) failed`);
  process.exit(1);
}
