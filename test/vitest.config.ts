import * as path from "node:path";
import { defineConfig } from "vitest/config";

// Unit tier: pure logic, components under mocks, the program rendered under mocks, the CLIs.
// The docker tier (test/docker/) has its own config.
export default defineConfig({
  test: {
    root: path.resolve(__dirname, ".."),
    include: ["test/**/*.test.ts"],
    exclude: ["test/docker/**", "node_modules/**", "app/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
