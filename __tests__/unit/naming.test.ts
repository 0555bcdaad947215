import { describe, expect, it } from "vitest";
import { childTokenName } from "../../src/naming.js";

const run = { repository: "octo-org/octo-repo", runId: "123456", runAttempt: "2", job: "upload" };

describe("childTokenName", () => {
  it("names repository, run id, attempt, job and the mint id", () => {
    expect(childTokenName("deadbeef", { run })).toBe(
      "r2-ephemeral octo-org/octo-repo run 123456.2 upload deadbeef",
    );
  });

  it("appends the mint id to a custom token-name", () => {
    expect(childTokenName("deadbeef", { tokenName: "nightly sync", run })).toBe("nightly sync deadbeef");
  });

  it("stays within 120 characters by shortening the job first, then the repository, never the mint id", () => {
    const longJob = childTokenName("deadbeef", { run: { ...run, job: "j".repeat(200) } });
    expect(longJob).toHaveLength(120);
    expect(longJob).toContain("octo-org/octo-repo");
    expect(longJob.endsWith(" deadbeef")).toBe(true);

    const longBoth = childTokenName("deadbeef", {
      run: { ...run, repository: `o/${"r".repeat(150)}`, job: "j".repeat(50) },
    });
    expect(longBoth.length).toBeLessThanOrEqual(120);
    expect(longBoth).not.toContain(" j");
    expect(longBoth.endsWith(" deadbeef")).toBe(true);
  });

  it("has a default outside GitHub Actions", () => {
    expect(childTokenName("deadbeef", {})).toBe("r2-ephemeral deadbeef");
  });
});
