// Lint: typescript-eslint's type-checked rules over src, test, scripts and bench (`npm run lint`, and in `npm test`).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "coverage/", ".tap/", "node_modules/", "test/.tmp/", "**/.tscgi-cache/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        // tap runs the subtests a file declares (t.test, t.before, ...) and reports their failures itself.
        { allowForKnownSafePromises: [{ from: "package", name: "PromiseWithSubtest", package: "@tapjs/core" }] },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/no-non-null-assertion": "warn",
      // An async function implementing a Promise-returning interface needs no await: its throw becomes a rejection.
      "@typescript-eslint/require-await": "off",
      // A leading _ marks a parameter a caller passes that this implementation ignores (jsx's key).
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true, argsIgnorePattern: "^_" }],
    },
  },
  {
    // Tests read JSON answers without declaring their shape, and their scripts throw non-Errors on
    // purpose, to see how tscgi copes.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
    },
  },
  {
    // Plain JavaScript (the bin stub, build and bench scripts) is outside the TypeScript project.
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    // Node's globals (process, console, ...) are known to Node, not to this config.
    rules: { ...tseslint.configs.disableTypeChecked.rules, "no-undef": "off" },
  },
);
