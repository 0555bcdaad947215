// `r2-ephemeral-credentials cors get|set|clear` end to end: the bucket's CORS policy through the
// REST API, what a browser's preflight at the S3 endpoint sees before and after, the checks made
// before any call (origins as browsers send them, the dashboard's S3 shape), and the permissions
// named when Cloudflare refuses.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { corsSetCommand } from "../../src/cli/commands/cors.js";
import { apiFlags, cliEnv, describeCli, runCli } from "../helpers/cli.js";
import { bucketName, callSequence, STORAGE_READ_GROUP } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-cors-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PAGE = "https://my-site.pages.dev";

function cors(args: string[], token = emu.minter) {
  return runCli(["cors", ...args, ...apiFlags(emu.emulator)], { env: cliEnv(emu.emulator, token) });
}

function file(name: string, content: unknown): string {
  const at = path.join(dir, name);
  fs.writeFileSync(at, typeof content === "string" ? content : JSON.stringify(content));
  return at;
}

/** What a browser asks before a cross-origin PUT with a content-type. */
function preflight(bucket: string, origin = PAGE, jurisdiction?: "eu") {
  return fetch(`${emu.emulator.s3Endpoint(jurisdiction)}/${bucket}/uploads/photo.jpg`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type",
    },
  });
}

const rule = {
  allowed: { origins: [PAGE, "http://localhost:5173"], methods: ["PUT", "GET"], headers: ["content-type"] },
  exposeHeaders: ["ETag"],
  maxAgeSeconds: 3600,
};

describe("cors", () => {
  test("a browser's preflight is refused before cors set and allowed after; set shows what it replaced, then the policy now", async () => {
    const bucket = bucketName("cors-set");
    emu.emulator.createBucket(bucket);
    const before = await preflight(bucket);
    expect([before.status, before.headers.get("access-control-allow-origin")]).toEqual([403, null]);

    const set = await cors([
      "set",
      "--bucket",
      bucket,
      "--origin",
      PAGE,
      "--origin",
      "http://localhost:5173",
      "--method",
      "PUT",
      "--method",
      "get",
      "--header",
      "content-type",
      "--expose-header",
      "ETag",
      "--max-age",
      "1h",
    ]);
    expect(set.exitCode, describeCli(set)).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ rules: [rule] });
    expect(set.stderr).toContain(`The bucket ${bucket} had no CORS policy.`);
    expect(callSequence(emu.emulator)).toEqual([
      "r2.buckets.cors.get 404",
      "r2.buckets.cors.put 200",
      "r2.buckets.cors.get 200",
    ]);

    const after = await preflight(bucket);
    expect([after.status, after.headers.get("access-control-allow-origin")]).toEqual([200, PAGE]);
    expect(after.headers.get("access-control-allow-methods")).toBe("PUT, GET");
    expect((await preflight(bucket, "https://elsewhere.example")).status).toBe(403);

    // A second set replaces the whole policy, and first shows the one it replaces.
    const again = await cors(["set", "--bucket", bucket, "--origin", "*", "--method", "GET"]);
    expect(again.exitCode, describeCli(again)).toBe(0);
    expect(again.stderr).toContain(
      `Replacing the CORS policy of the bucket ${bucket}, which was:\n${JSON.stringify({ rules: [rule] }, null, 2)}`,
    );
    expect(JSON.parse(again.stdout)).toEqual({ rules: [{ allowed: { origins: ["*"], methods: ["GET"] } }] });
    expect((await preflight(bucket)).status).toBe(403);
  });

  test("get prints the policy in the API's shape, which set --file takes back; clear removes it", async () => {
    const bucket = bucketName("cors-get");
    emu.emulator.createBucket(bucket);
    const none = await cors(["get", "--bucket", bucket]);
    expect([none.exitCode, JSON.parse(none.stdout)]).toEqual([0, { rules: [] }]);
    expect(none.stderr).toContain("has no CORS policy");

    const rules = {
      rules: [{ id: "uploads", ...rule }, { allowed: { origins: ["*"], methods: ["GET", "HEAD"] } }],
    };
    const set = await cors(["set", "--bucket", bucket, "--file", file("rules.json", rules)]);
    expect(set.exitCode, describeCli(set)).toBe(0);
    const got = await cors(["get", "--bucket", bucket]);
    expect(JSON.parse(got.stdout)).toEqual(rules);
    // What get printed is a file set takes as it is.
    const roundTrip = await cors(["set", "--bucket", bucket, "--file", file("got.json", got.stdout)]);
    expect(roundTrip.exitCode, describeCli(roundTrip)).toBe(0);

    const cleared = await cors(["clear", "--bucket", bucket]);
    expect(cleared.exitCode, describeCli(cleared)).toBe(0);
    expect(cleared.stderr).toContain(`Removing the CORS policy of the bucket ${bucket}, which was:`);
    expect(JSON.parse(cleared.stdout)).toEqual({ rules: [] });
    expect((await preflight(bucket)).status).toBe(403);
  });

  test("origins a browser never sends are refused before any call, each with its reason", async () => {
    const run = await cors([
      "set",
      "--bucket",
      "any-bucket",
      "--origin",
      "https://my-site.pages.dev/",
      "--origin",
      "https://my-site.pages.dev/app",
      "--origin",
      "my-site.pages.dev",
      "--origin",
      "https://My-Site.pages.dev:443",
      "--method",
      "PATCH",
    ]);
    expect([run.exitCode, run.stdout]).toEqual([2, ""]);
    expect(run.stderr.split("\n").filter(Boolean)).toEqual([
      'error: Flag --origin has "https://my-site.pages.dev/", which has a path or a trailing slash. An origin is scheme://host[:port] with no path or trailing slash, e.g. https://my-site.pages.dev or http://localhost:5173.',
      'Flag --origin has "https://my-site.pages.dev/app", which has a path or a trailing slash. An origin is scheme://host[:port] with no path or trailing slash, e.g. https://my-site.pages.dev or http://localhost:5173.',
      'Flag --origin has "my-site.pages.dev", which does not start with https:// or http://. An origin is scheme://host[:port] with no path or trailing slash, e.g. https://my-site.pages.dev or http://localhost:5173.',
      'Flag --origin has "https://My-Site.pages.dev:443", which is not written as a browser sends it (https://my-site.pages.dev). An origin is scheme://host[:port] with no path or trailing slash, e.g. https://my-site.pages.dev or http://localhost:5173.',
      'Flag --method has "PATCH", which R2 does not take. Use: GET, PUT, POST, DELETE, HEAD.',
    ]);
    const noOrigin = await cors(["set", "--bucket", "any-bucket", "--method", "GET", "--max-age", "2d"]);
    expect(noOrigin.exitCode).toBe(2);
    expect(noOrigin.stderr).toContain("Flag --origin is required");
    expect(noOrigin.stderr).toContain('Flag --max-age is "2d"');
    expect(emu.emulator.calls).toEqual([]);
  });

  test("a file in the dashboard's S3 shape is refused before any call, with the same rules in the API's shape", async () => {
    const dashboard = [
      {
        AllowedOrigins: [PAGE],
        AllowedMethods: ["PUT", "GET"],
        AllowedHeaders: ["content-type"],
        ExposeHeaders: ["ETag"],
        MaxAgeSeconds: 3600,
      },
    ];
    for (const [name, content] of [
      ["dashboard.json", dashboard],
      ["s3.json", { CORSRules: dashboard }],
    ] as const) {
      const run = await cors(["set", "--bucket", "any-bucket", "--file", file(name, content)]);
      expect([run.exitCode, run.stdout], describeCli(run)).toEqual([2, ""]);
      expect(run.stderr).toContain("is in the S3 shape the dashboard's CORS editor takes");
      const lead = "Hint: Write the same rules in the API's shape:\n";
      const shown = run.stderr.slice(run.stderr.indexOf(lead) + lead.length);
      expect(JSON.parse(shown)).toEqual({
        rules: [{ ...rule, allowed: { ...rule.allowed, origins: [PAGE] } }],
      });
    }
    const misspelt = await cors([
      "set",
      "--bucket",
      "any-bucket",
      "--file",
      file("misspelt.json", {
        rules: [{ allowed: { origins: [`${PAGE}/`], methods: ["GET"] }, maxAge: 60 }],
      }),
    ]);
    expect(misspelt.exitCode).toBe(2);
    expect(misspelt.stderr).toContain("rules[0].allowed.origins[0]");
    expect(misspelt.stderr).toContain('Unrecognized key: "maxAge"');
    const mixed = await cors([
      "set",
      "--bucket",
      "b-b-b",
      "--file",
      file("x.json", { rules: [] }),
      "--origin",
      PAGE,
    ]);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toContain("cannot be combined with --origin");
    expect(emu.emulator.calls).toEqual([]);
  });

  test("a refusal names the permission: get needs Workers R2 Storage Read, set and clear Storage Write", async () => {
    const bucket = bucketName("cors-perm");
    emu.emulator.createBucket(bucket);
    const reader = emu.emulator.seedToken({
      scope: "account",
      policies: [
        {
          effect: "allow",
          permission_groups: [{ id: STORAGE_READ_GROUP }],
          resources: { [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" },
        },
      ],
    });
    expect((await cors(["get", "--bucket", bucket], reader)).exitCode).toBe(0);
    for (const sub of [["set", "--origin", PAGE, "--method", "GET"], ["clear"]]) {
      const run = await cors([...sub.slice(0, 1), "--bucket", bucket, ...sub.slice(1)], reader);
      expect(run.exitCode, describeCli(run)).toBe(1);
      expect(run.stderr).toContain("403 — 10000");
      expect(run.stderr).toContain(
        "Changing a bucket's CORS policy needs Workers R2 Storage Write on the account",
      );
    }
    const itemWriter = emu.emulator.seedToken({
      scope: "account",
      preset: "r2-bucket-write",
      buckets: [bucket],
    });
    const get = await cors(["get", "--bucket", bucket], itemWriter);
    expect(get.exitCode).toBe(1);
    expect(get.stderr).toContain(
      "Reading a bucket's CORS policy needs Workers R2 Storage Read (or Write) on the account",
    );
  });

  test("--jurisdiction reaches a bucket outside default, and browsers see its rules on that jurisdiction's endpoint", async () => {
    const bucket = bucketName("cors-eu");
    emu.emulator.createBucket(bucket, "eu");
    const missing = await cors(["get", "--bucket", bucket]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("10006");
    expect(missing.stderr).toContain("--jurisdiction eu");
    const set = await cors([
      "set",
      "--bucket",
      bucket,
      "--jurisdiction",
      "eu",
      "--origin",
      PAGE,
      "--method",
      "PUT",
      "--header",
      "content-type",
    ]);
    expect(set.exitCode, describeCli(set)).toBe(0);
    expect(set.stderr).toContain(`bucket ${bucket} (eu)`);
    expect((await preflight(bucket, PAGE, "eu")).status).toBe(200);
  });

  test("cors needs a sub-command; cors --help and cors set --help explain all three", async () => {
    const bare = await runCli(["cors", "--bucket", "b-b-b"]);
    expect([bare.exitCode, bare.stderr]).toEqual([
      2,
      expect.stringContaining("cors needs a sub-command: get, set or clear"),
    ]);
    for (const args of [
      ["cors", "--help"],
      ["cors", "set", "--help"],
    ]) {
      const help = await runCli(args);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain("cors get|set|clear --bucket NAME");
      expect(help.stdout).toContain("Workers R2 Storage Write");
      for (const flag of Object.keys(corsSetCommand.options ?? {}).filter((f) => f !== "help"))
        expect(help.stdout).toContain(`--${flag}`);
    }
  });
});
