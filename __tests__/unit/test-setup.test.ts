// The suite's own set-up: when it installs the Debian clients, and that CI installs the same list.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../../scripts/harness/paths.js";
import { CLIENT_NAMES, CLIENTS, installLine, installPlan, underCi } from "../helpers/clients.js";
import { sourceHash } from "../setup/global-setup.js";

const base = { missing: ["aws", "boto3"] as const, hasAptGet: true, installAllowed: true };

describe("installing the Debian clients", () => {
  test("as root: apt-get directly, each package once", () => {
    const plan = installPlan({ ...base, isRoot: true, passwordlessSudo: false });
    expect(plan).toEqual({
      action: "install",
      command: [
        "sh",
        "-c",
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends awscli python3-boto3",
      ],
    });
  });

  test("as a user with password-less sudo: through sudo -n, which never prompts", () => {
    const plan = installPlan({ ...base, isRoot: false, passwordlessSudo: true });
    expect(plan.action === "install" && plan.command.slice(0, 2)).toEqual(["sudo", "-n"]);
  });

  test("as a user whose sudo asks for a password: nothing is installed, and the reason is given", () => {
    expect(installPlan({ ...base, isRoot: false, passwordlessSudo: false })).toEqual({
      action: "leave",
      reason: "not root, and sudo needs a password",
    });
  });

  test("R2E_TEST_INSTALL=0 and a machine without apt-get install nothing; nothing missing does nothing", () => {
    expect(
      installPlan({ ...base, isRoot: true, passwordlessSudo: false, installAllowed: false }).action,
    ).toBe("leave");
    expect(installPlan({ ...base, isRoot: true, passwordlessSudo: false, hasAptGet: false }).action).toBe(
      "leave",
    );
    expect(installPlan({ ...base, missing: [], isRoot: true, passwordlessSudo: false })).toEqual({
      action: "none",
    });
  });

  test("the install line names the packages, not the clients", () => {
    expect(installLine(["boto3", "aws", "boto3"])).toBe(
      "apt-get install -y --no-install-recommends python3-boto3 awscli",
    );
  });

  test("CI is recognised as the runners and CI systems set it", () => {
    expect(underCi({ CI: "true" })).toBe(true);
    expect(underCi({ CI: "1" })).toBe(true);
    expect(underCi({ CI: "false" })).toBe(false);
    expect(underCi({})).toBe(false);
  });

  test(".ci/run installs every package the tests' clients come from", () => {
    const run = fs.readFileSync(path.join(repoRoot, ".ci/run"), "utf8");
    const listed = /APT_PACKAGES=\(([^)]*)\)/.exec(run)?.[1]?.split(/\s+/) ?? [];
    for (const name of CLIENT_NAMES) expect(listed, name).toContain(CLIENTS[name].pkg);
  });
});

describe("building src/ for the e2e suites", () => {
  test("the build is keyed by the source: the same tree gives the same key", () => {
    expect(sourceHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(sourceHash()).toBe(sourceHash());
  });
});
