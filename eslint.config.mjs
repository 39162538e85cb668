// ESLint for the whole repository: the Pulumi program, its components, CLIs and tests, and the app in app/.
// ESLint finds it at the repository root: `npx eslint .` (npm run lint).
import path from "node:path";
import { fileURLToPath } from "node:url";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

const root = path.dirname(fileURLToPath(import.meta.url));

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/coverage/**",
      "test/artifacts/**",
      "app/test/artifacts/**",
      "**/*.cjs",
      "**/*.mjs",
    ],
  },
  {
    files: ["**/*.ts", "**/*.cts", "**/*.mts"],
    ignores: ["app/**"],
    extends: [tseslint.configs.recommended],
    plugins: { "@pulumi": pulumi },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // The app is its own package: its test tsconfig covers src/, test/ and the vitest config, the
    // bench's covers bench/ (projectService only finds files named tsconfig.json, hence `project`).
    files: ["app/**/*.ts", "app/**/*.mts"],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        project: ["app/tsconfig.test.json", "app/bench/tsconfig.json"],
        tsconfigRootDir: root,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
