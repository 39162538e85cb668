import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

/** The docker tier: real engine, one file at a time, long timeouts (phases print their times). */
export default defineConfig({
  test: {
    root: resolve(__dirname, "../.."),
    include: ["test/docker/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 900_000,
    reporters: ["verbose"],
  },
});
