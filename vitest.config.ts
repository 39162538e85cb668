import { defineConfig } from "vitest/config";

// Unit tier: pure logic, components under mocks, the program rendered under mocks, the CLIs.
// The docker tier has its own config, test/docker/vitest.config.ts.
export default defineConfig({
  test: {
    root: __dirname,
    include: ["test/**/*.test.ts"],
    exclude: ["test/docker/**", "node_modules/**", "app/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
