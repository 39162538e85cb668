import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError, loadConfig, resolveFileVariables } from "../src/config";
import { APP_DIR, TOKEN } from "./helpers";

function problems(env: Record<string, string>, opts?: { requireAdminToken?: boolean }): string[] {
  try {
    loadConfig(env, opts);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("environment", () => {
  test("defaults", () => {
    expect(loadConfig({ ADMIN_TOKEN: TOKEN })).toEqual({
      port: 8080,
      host: "0.0.0.0",
      dataDir: "/data",
      backupDir: "/backups",
      socketDir: undefined,
      appName: "fleet",
      appTitle: "Fleet",
      adminToken: TOKEN,
      publicRead: false,
      logLevel: "info",
      maxUploadBytes: 26214400,
      blobGraceSeconds: 600,
      statusToken: undefined,
      notifyUrl: undefined,
      stack: undefined,
      version: "1.0.0",
      revision: "unknown",
      buildDate: "unknown",
    });
  });

  test.each([
    [{ PORT: "http" }, ['PORT="http": must be an integer from 1 to 65535']],
    [{ PORT: "70000" }, ['PORT="70000": must be an integer from 1 to 65535']],
    [{ DATA_DIR: "data" }, ['DATA_DIR="data": must be an absolute path, e.g. /data']],
    [{ APP_SOCKET_DIR: "sockets" }, ['APP_SOCKET_DIR="sockets": must be an absolute path, e.g. /sockets/homebrews']],
    [
      { APP_NAME: "Home Brews" },
      ['APP_NAME="Home Brews": must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit (e.g. homebrews)'],
    ],
    [{ PUBLIC_READ: "yes please" }, ['PUBLIC_READ="yes please": must be true or false']],
    [{ LOG_LEVEL: "loud" }, ['LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent']],
    [{ ADMIN_TOKEN: "short" }, ["ADMIN_TOKEN: must be at least 24 characters long (e.g. openssl rand -hex 24)"]],
  ])("%j is refused naming the variable", (env, expected) => {
    expect(problems({ ADMIN_TOKEN: TOKEN, ...env })).toEqual(expected);
  });

  test("a missing ADMIN_TOKEN is refused for the server, not for offline CLI commands", () => {
    expect(problems({})).toEqual(["ADMIN_TOKEN: is required: set it to a random secret of at least 24 characters"]);
    expect(problems({}, { requireAdminToken: false })).toEqual([]);
  });

  test("a bad env exits 1 with one line per problem and no stack trace (real process)", () => {
    const res = spawnSync(process.execPath, [path.join(APP_DIR, "dist/server.js")], {
      env: { PATH: process.env.PATH ?? "", PORT: "eighty", ADMIN_TOKEN: "too-short", PUBLIC_READ: "maybe" },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(res.status).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(
      [
        "invalid environment:",
        '  PORT="eighty": must be an integer from 1 to 65535',
        "  ADMIN_TOKEN: must be at least 24 characters long (e.g. openssl rand -hex 24)",
        '  PUBLIC_READ="maybe": must be true or false',
        "",
      ].join("\n"),
    );
  });
});

describe("NAME_FILE variables (Swarm secrets)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fleet-file-env-"));
  const tokenFile = path.join(dir, "ADMIN_TOKEN");
  writeFileSync(tokenFile, TOKEN);

  test("ADMIN_TOKEN_FILE is read as ADMIN_TOKEN, exactly as the file holds it", () => {
    expect(loadConfig({ ADMIN_TOKEN_FILE: tokenFile }).adminToken).toBe(TOKEN);
    writeFileSync(path.join(dir, "nl"), `${TOKEN}\n`);
    expect(loadConfig({ ADMIN_TOKEN_FILE: path.join(dir, "nl") }).adminToken).toBe(`${TOKEN}\n`);
  });

  test("only the app's own variables are read from files; other *_FILE variables are left alone", () => {
    writeFileSync(path.join(dir, "level"), "warn");
    const env = {
      LOG_LEVEL_FILE: path.join(dir, "level"),
      SMTP_PASSWORD_FILE: "/run/secrets/SMTP_PASSWORD",
      TF_CLI_CONFIG_FILE: "/nonexistent/.terraformrc",
    };
    expect(resolveFileVariables(env)).toEqual({
      LOG_LEVEL: "warn",
      SMTP_PASSWORD_FILE: "/run/secrets/SMTP_PASSWORD",
      TF_CLI_CONFIG_FILE: "/nonexistent/.terraformrc",
    });
  });

  test.each([
    [
      { ADMIN_TOKEN: TOKEN, ADMIN_TOKEN_FILE: "/nonexistent" },
      ["ADMIN_TOKEN: set both as ADMIN_TOKEN and as ADMIN_TOKEN_FILE; set only one"],
    ],
    [{ ADMIN_TOKEN_FILE: "/nonexistent/token" }, ['ADMIN_TOKEN_FILE="/nonexistent/token": cannot be read (ENOENT)']],
  ])("%o fails with %o", (env, expected) => {
    expect(problems(env)).toEqual(expected);
  });
});
