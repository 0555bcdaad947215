import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/**/*.test.ts"],
    // Builds src/ for the e2e suites and installs (or reports) the Debian clients some tests drive.
    globalSetup: ["__tests__/setup/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn Node processes and S3 clients; two cores only.
    fileParallelism: true,
    maxWorkers: 2,
    server: { deps: { inline: ["@actions/workflow-parser"] } },
  },
});
