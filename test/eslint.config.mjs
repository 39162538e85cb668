// ESLint for the Pulumi program, its components, CLIs and tests (the app in app/ has its own setup).
// Run from the repository root: eslint --config test/eslint.config.mjs .
import path from "node:path";
import { fileURLToPath } from "node:url";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export default tseslint.config(
  { ignores: ["app/**", "node_modules/**", "dist/**", "coverage/**", "test/artifacts/**", "**/*.cjs", "**/*.mjs"] },
  {
    files: ["**/*.ts", "**/*.cts", "**/*.mts"],
    extends: [tseslint.configs.recommended],
    plugins: { "@pulumi": pulumi },
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["test/*.config.mts"] }, tsconfigRootDir: root },
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
);
