import { defineConfig } from "vitest/config";

/** The docker tier: real engine, one file at a time, long timeouts (phases print their times). */
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/docker/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 900_000,
    reporters: ["verbose"],
  },
});
