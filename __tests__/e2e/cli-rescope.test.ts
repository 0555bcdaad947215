// `r2-ephemeral-credentials rescope` end to end: an existing key pair is refused on a new bucket at
// the S3 endpoint; after rescope the SAME credentials work there. The PUT keeps everything else of
// the token (name, expiry, other policies); a second run changes nothing.
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import { PERMISSION_GROUPS } from "../../emulator/permission-groups.js";
import type { PolicyInput, TokenView } from "../../emulator/types.js";
import { apiFlags, cliEnv, describeCli, mintFlags, runCli } from "../helpers/cli.js";
import {
  bucketName,
  bucketResource,
  type CreateTokenBody,
  callSequence,
  callsTo,
  ITEM_READ_GROUP,
  ITEM_WRITE_GROUP,
} from "../helpers/emulator.js";
import { getText, putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({
  minters: [{ scope: "account", name: "rescope minter" }],
  // rescope's tests mint with the CLI, which has no post step to revoke what they leave.
  leftovers: "delete",
});

function env(): Record<string, string> {
  return cliEnv(emu.emulator, emu.minter);
}

function tokenView(id: string): TokenView {
  const view = emu.emulator.liveTokens().find((token) => token.id === id);
  if (!view) throw new Error(`token ${id} is not alive`);
  return view;
}

/** The policies as sent (ids of groups, resources), order-insensitive for comparison. */
function policyShape(
  policies: { effect: string; permission_groups: { id: string }[]; resources: Record<string, unknown> }[],
) {
  return policies
    .map((policy) => ({
      effect: policy.effect,
      groups: policy.permission_groups.map((group) => group.id).sort(),
      resources: Object.fromEntries(Object.entries(policy.resources).sort(([a], [b]) => a.localeCompare(b))),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function rescope(args: string[]) {
  return runCli(["rescope", ...args, ...apiFlags(emu.emulator)], { env: env() });
}

describe("rescope", () => {
  test("a CLI-minted key pair refused on bucket B works there after rescope; the PUT keeps name and expiry; a rerun is a no-op", async () => {
    const bucketA = bucketName("rs-a");
    const bucketB = bucketName("rs-b");
    emu.emulator.createBucket(bucketA);
    emu.emulator.createBucket(bucketB);

    const minted = await runCli(
      [
        "mint",
        "--bucket",
        bucketA,
        "--permission",
        "object-read-write",
        "--ttl",
        "2h",
        ...mintFlags(emu.emulator),
      ],
      { env: env() },
    );
    expect(minted.exitCode, describeCli(minted)).toBe(0);
    const outputs = JSON.parse(minted.stdout) as Record<string, string>;
    const id = outputs["token-id"] as string;
    const s3 = s3ClientFromOutputs(outputs);
    expect(await putText(s3, bucketA, "a.txt", "a")).toMatchObject({ ok: true });
    expect(await putText(s3, bucketB, "b.txt", "b")).toMatchObject({ ok: false, status: 403 });
    const before = tokenView(id);

    emu.emulator.resetCalls();
    const result = await rescope([
      "--token-id",
      id,
      "--add-bucket",
      bucketB,
      "--permission",
      "object-read-write",
    ]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toContain(bucketB);
    expect(result.stdout).toContain(id);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.update 200"]);
    const put = callsTo(emu.emulator, "tokens.update")[0];
    expect(put?.method).toBe("PUT");
    expect(put?.path).toBe(`/accounts/${emu.emulator.accountId}/tokens/${id}`);
    const body = put?.body as CreateTokenBody;
    expect(body.name).toBe(before.name);
    expect(body.expires_on).toBe(before.expires_on);
    expect(policyShape(body.policies)).toEqual([
      {
        effect: "allow",
        groups: [ITEM_WRITE_GROUP],
        resources: Object.fromEntries(
          [bucketResource(emu.emulator.accountId, bucketA), bucketResource(emu.emulator.accountId, bucketB)]
            .sort()
            .map((key) => [key, "*"]),
        ),
      },
    ]);
    const after = tokenView(id);
    expect(after.name).toBe(before.name);
    expect(after.expires_on).toBe(before.expires_on);
    expect(after.status).toBe("active");

    // The very same credentials, no re-mint.
    expect(await putText(s3, bucketB, "b.txt", "now b")).toMatchObject({ ok: true });
    expect(await getText(s3, bucketB, "b.txt")).toMatchObject({ ok: true, body: "now b" });
    expect(await putText(s3, bucketA, "a2.txt", "still a")).toMatchObject({ ok: true });

    emu.emulator.resetCalls();
    const again = await rescope([
      "--token-id",
      id,
      "--add-bucket",
      bucketB,
      "--permission",
      "object-read-write",
    ]);
    expect(again.exitCode, describeCli(again)).toBe(0);
    expect(again.stdout).toMatch(/already grants/);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200"]);
    expect(callsTo(emu.emulator, "tokens.update")).toEqual([]);
  });

  test("a hand-made token keeps its other policies (deny included), name and expiry; the bucket joins the matching read policy", async () => {
    const bucketA = bucketName("rs-own-a");
    const bucketC = bucketName("rs-own-c");
    const bucketB = bucketName("rs-own-b");
    for (const b of [bucketA, bucketB, bucketC]) emu.emulator.createBucket(b);
    emu.emulator.putObject(bucketB, "report.csv", "a,b\n1,2\n");
    const key = (b: string) => bucketResource(emu.emulator.accountId, b);
    const expiresOn = new Date(Date.now() + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const policies = [
      {
        effect: "allow" as const,
        permission_groups: [{ id: ITEM_WRITE_GROUP }],
        resources: { [key(bucketA)]: "*" },
      },
      {
        effect: "allow" as const,
        permission_groups: [{ id: ITEM_READ_GROUP }],
        resources: { [key(bucketC)]: "*" },
      },
      {
        effect: "deny" as const,
        permission_groups: [{ id: ITEM_WRITE_GROUP }],
        resources: { [key(bucketC)]: "*" },
      },
    ];
    const laptop = emu.emulator.seedToken({
      scope: "account",
      name: "alice laptop key",
      expiresOn,
      policies,
    });
    const s3 = s3ClientFromOutputs({
      "access-key-id": laptop.id,
      "secret-access-key": createHash("sha256").update(laptop.value).digest("hex"),
      endpoint: emu.emulator.s3Endpoint(),
    });
    expect(await getText(s3, bucketB, "report.csv")).toMatchObject({ ok: false, status: 403 });

    const result = await rescope(["--token-id", laptop.id, "--add-bucket", bucketB]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toMatch(/object-read-only/);
    const body = callsTo(emu.emulator, "tokens.update")[0]?.body as CreateTokenBody;
    expect(body.name).toBe("alice laptop key");
    expect(body.expires_on).toBe(expiresOn);
    expect(policyShape(body.policies)).toEqual(
      policyShape([
        policies[0] as (typeof policies)[number],
        {
          ...(policies[1] as (typeof policies)[number]),
          resources: { [key(bucketC)]: "*", [key(bucketB)]: "*" },
        },
        policies[2] as (typeof policies)[number],
      ]),
    );

    expect(await getText(s3, bucketB, "report.csv")).toMatchObject({ ok: true, body: "a,b\n1,2\n" });
    expect(await putText(s3, bucketB, "x.txt", "read only")).toMatchObject({ ok: false, status: 403 });
    expect(await putText(s3, bucketA, "x.txt", "still write on A")).toMatchObject({ ok: true });
    expect(await putText(s3, bucketC, "x.txt", "deny still applies")).toMatchObject({
      ok: false,
      status: 403,
    });
    const after = tokenView(laptop.id);
    expect(after.name).toBe("alice laptop key");
    expect(after.expires_on).toBe(expiresOn);
    expect(after.policies).toHaveLength(3);
  });

  test("--jurisdiction eu adds the eu resource; the key pair works on the eu endpoint", async () => {
    const bucketA = bucketName("rs-eu-a");
    const bucketB = bucketName("rs-eu-b");
    emu.emulator.createBucket(bucketA);
    emu.emulator.createBucket(bucketB, "eu");
    const minted = await runCli(
      ["mint", "--bucket", bucketA, "--permission", "object-read-write", ...mintFlags(emu.emulator)],
      { env: env() },
    );
    expect(minted.exitCode, describeCli(minted)).toBe(0);
    const outputs = JSON.parse(minted.stdout) as Record<string, string>;
    const id = outputs["token-id"] as string;
    const euClient = s3ClientFromOutputs(outputs, emu.emulator.s3Endpoint("eu"));
    expect(await putText(euClient, bucketB, "k", "v")).toMatchObject({ ok: false, status: 403 });

    const result = await rescope([
      "--token-id",
      id,
      "--add-bucket",
      bucketB,
      "--permission",
      "object-read-write",
      "--jurisdiction",
      "eu",
    ]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const body = callsTo(emu.emulator, "tokens.update")[0]?.body as CreateTokenBody;
    expect(Object.keys(body.policies[0]?.resources ?? {})).toContain(
      bucketResource(emu.emulator.accountId, bucketB, "eu"),
    );
    expect(await putText(euClient, bucketB, "k", "v")).toMatchObject({ ok: true });
  });

  test("an unknown token id: exit 1 naming the token, stdout empty, no PUT", async () => {
    const missing = "0123456789abcdef0123456789abcdef";
    const result = await rescope(["--token-id", missing, "--add-bucket", "some-bucket"]);
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(missing);
    expect(result.stderr).toMatch(/404/);
    expect(callsTo(emu.emulator, "tokens.update")).toEqual([]);
  });
});

/** A group's id as this emulator knows it (the token groups have ids of the emulator's own). */
function groupId(key: string): string {
  const group = PERMISSION_GROUPS.find((g) => g.key === key);
  if (!group) throw new Error(`no group ${key}`);
  return group.id;
}

/** A token as someone made it in the dashboard: item write on some buckets, read on another. */
function seedLaptopToken(
  buckets: { write: string[]; read?: string[]; denyWrite?: string[] },
  extra: PolicyInput[] = [],
) {
  const key = (b: string) => bucketResource(emu.emulator.accountId, b);
  const policies: PolicyInput[] = [
    {
      effect: "allow",
      permission_groups: [{ id: ITEM_WRITE_GROUP }],
      resources: Object.fromEntries(buckets.write.map((b) => [key(b), "*"])),
    },
    ...(buckets.read?.length
      ? [
          {
            effect: "allow" as const,
            permission_groups: [{ id: ITEM_READ_GROUP }],
            resources: Object.fromEntries(buckets.read.map((b) => [key(b), "*"])),
          },
        ]
      : []),
    ...(buckets.denyWrite?.length
      ? [
          {
            effect: "deny" as const,
            permission_groups: [{ id: ITEM_WRITE_GROUP }],
            resources: Object.fromEntries(buckets.denyWrite.map((b) => [key(b), "*"])),
          },
        ]
      : []),
    ...extra,
  ];
  const expiresOn = new Date(Date.now() + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const token = emu.emulator.seedToken({ scope: "account", name: "bob laptop key", expiresOn, policies });
  const s3 = s3ClientFromOutputs({
    "access-key-id": token.id,
    "secret-access-key": createHash("sha256").update(token.value).digest("hex"),
    endpoint: emu.emulator.s3Endpoint(),
  });
  return { token, s3, expiresOn, key };
}

function buckets(...labels: string[]): string[] {
  return labels.map((label) => {
    const name = bucketName(label);
    emu.emulator.createBucket(name);
    return name;
  });
}

describe("rescope --remove-bucket", () => {
  test("the same key pair loses the bucket and keeps the others; the deny policy stays; a policy left empty goes", async () => {
    const [a, b, c, d] = buckets("rm-a", "rm-b", "rm-c", "rm-d") as [string, string, string, string];
    const { token, s3, expiresOn, key } = seedLaptopToken({ write: [a, b], read: [c], denyWrite: [d] });
    expect(await getText(s3, b, "missing")).toMatchObject({ status: 404 });

    const result = await rescope(["--token-id", token.id, "--remove-bucket", b]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stdout).toContain(`Removed ${b} (jurisdiction default) from token ${token.id}.`);
    expect(result.stdout).toContain(`policy 1 (allow Workers R2 Storage Bucket Item Write): - ${key(b)}`);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.update 200"]);
    const body = callsTo(emu.emulator, "tokens.update")[0]?.body as CreateTokenBody;
    expect(body.name).toBe("bob laptop key");
    expect(body.expires_on).toBe(expiresOn);
    expect(policyShape(body.policies)).toEqual(
      policyShape([
        { effect: "allow", permission_groups: [{ id: ITEM_WRITE_GROUP }], resources: { [key(a)]: "*" } },
        { effect: "allow", permission_groups: [{ id: ITEM_READ_GROUP }], resources: { [key(c)]: "*" } },
        { effect: "deny", permission_groups: [{ id: ITEM_WRITE_GROUP }], resources: { [key(d)]: "*" } },
      ]),
    );
    expect(await getText(s3, b, "missing")).toMatchObject({ ok: false, status: 403 });
    expect(await putText(s3, a, "k", "still a")).toMatchObject({ ok: true });

    emu.emulator.resetCalls();
    const dropped = await rescope(["--token-id", token.id, "--remove-bucket", c]);
    expect(dropped.exitCode, describeCli(dropped)).toBe(0);
    expect(dropped.stdout).toContain(
      "policy 2 (allow Workers R2 Storage Bucket Item Read): dropped (nothing left in it)",
    );
    const after = callsTo(emu.emulator, "tokens.update")[0]?.body as CreateTokenBody | undefined;
    expect(after?.policies).toHaveLength(2);
  });

  test("a bucket the token does not name: exit 1 with a message, no PUT", async () => {
    const [a, other] = buckets("rm-only", "rm-other") as [string, string];
    const { token } = seedLaptopToken({ write: [a], denyWrite: [other] });
    const result = await rescope(["--token-id", token.id, "--remove-bucket", other]);
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`does not grant bucket ${other} .*only a deny policy names it`));
    expect(callsTo(emu.emulator, "tokens.update")).toEqual([]);
  });

  test("removing the last bucket is refused: it says to delete the token instead; no PUT", async () => {
    const [a] = buckets("rm-last") as [string];
    const { token } = seedLaptopToken({ write: [a] });
    const result = await rescope(["--token-id", token.id, "--remove-bucket", a]);
    expect(result.exitCode, describeCli(result)).toBe(1);
    expect(result.stderr).toMatch(/no policy at all/);
    expect(result.stderr).toContain(`revoke --token-id ${token.id}`);
    expect(callsTo(emu.emulator, "tokens.update")).toEqual([]);
  });

  test("an account-wide grant that still covers the bucket is named", async () => {
    const [a, b] = buckets("rm-wide-a", "rm-wide-b") as [string, string];
    const { token, s3 } = seedLaptopToken({ write: [a, b] }, [
      {
        effect: "allow",
        permission_groups: [{ id: groupId("r2.storage.read") }],
        resources: { [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" },
      },
    ]);
    const result = await rescope(["--token-id", token.id, "--remove-bucket", b]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `warning: token ${token.id} still reaches ${b} through policy 2 \\(allow Workers R2 Storage Read\\)`,
      ),
    );
    // What the warning means: reading still works, writing no longer does.
    emu.emulator.putObject(b, "seen.txt", "yes");
    expect(await getText(s3, b, "seen.txt")).toMatchObject({ ok: true, body: "yes" });
    expect(await putText(s3, b, "w.txt", "no")).toMatchObject({ ok: false, status: 403 });
  });

  test("--jurisdiction eu removes the eu bucket's key only", async () => {
    const name = bucketName("rm-eu");
    emu.emulator.createBucket(name);
    emu.emulator.createBucket(name, "eu");
    const { token } = seedLaptopToken({ write: [name] }, [
      {
        effect: "allow",
        permission_groups: [{ id: ITEM_WRITE_GROUP }],
        resources: { [bucketResource(emu.emulator.accountId, name, "eu")]: "*" },
      },
    ]);
    const result = await rescope(["--token-id", token.id, "--remove-bucket", name, "--jurisdiction", "eu"]);
    expect(result.exitCode, describeCli(result)).toBe(0);
    const body = callsTo(emu.emulator, "tokens.update")[0]?.body as CreateTokenBody;
    expect(body.policies.flatMap((p) => Object.keys(p.resources))).toEqual([
      bucketResource(emu.emulator.accountId, name),
    ]);
  });
});

describe("rescope --dry-run and --token-id self", () => {
  test("--dry-run prints the change for adding and for removing, and makes no PUT", async () => {
    const [a, b, c] = buckets("dry-a", "dry-b", "dry-c") as [string, string, string];
    const { token, key } = seedLaptopToken({ write: [a, b] });
    const remove = await rescope(["--token-id", token.id, "--remove-bucket", b, "--dry-run"]);
    expect(remove.exitCode, describeCli(remove)).toBe(0);
    expect(remove.stdout).toContain(`Dry run: token ${token.id} ("bob laptop key") would change:`);
    expect(remove.stdout).toContain(`- ${key(b)}`);
    expect(remove.stdout).toContain("Nothing was changed (no PUT)");
    const add = await rescope([
      "--token-id",
      token.id,
      "--add-bucket",
      c,
      "--permission",
      "object-read-write",
      "--dry-run",
    ]);
    expect(add.exitCode, describeCli(add)).toBe(0);
    expect(add.stdout).toContain(`+ ${key(c)}`);
    expect(JSON.parse(add.stdout.slice(add.stdout.indexOf("["))) as unknown[]).toHaveLength(1);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200", "tokens.get 200"]);
    expect(tokenView(token.id).policies[0]?.resources).toEqual({ [key(a)]: "*", [key(b)]: "*" });
  });

  test("--token-id self: the calling token, found through verify, rescopes itself both ways", async () => {
    const [a, b] = buckets("self-a", "self-b") as [string, string];
    const { token, key } = seedLaptopToken({ write: [a] }, [
      {
        effect: "allow",
        permission_groups: [{ id: groupId("account.tokens.write") }, { id: groupId("r2.storage.write") }],
        resources: { [`com.cloudflare.api.account.${emu.emulator.accountId}`]: "*" },
      },
    ]);
    const run = (args: string[]) =>
      runCli(["rescope", "--token-id", "self", ...args, ...apiFlags(emu.emulator)], {
        env: cliEnv(emu.emulator, token),
      });
    const added = await run(["--add-bucket", b]);
    expect(added.exitCode, describeCli(added)).toBe(0);
    expect(added.stdout).toContain(`to token ${token.id}`);
    expect(callSequence(emu.emulator)).toEqual(["tokens.verify 200", "tokens.get 200", "tokens.update 200"]);
    expect(callsTo(emu.emulator, "tokens.get")[0]?.tokenId).toBe(token.id);
    emu.emulator.resetCalls();
    const removed = await run(["--remove-bucket", a]);
    expect(removed.exitCode, describeCli(removed)).toBe(0);
    const resources = tokenView(token.id).policies.flatMap((p) => Object.keys(p.resources));
    expect(resources).not.toContain(key(a));
    expect(resources).toContain(key(b));
  });

  test.each([
    [["--add-bucket", "aaa-bucket", "--remove-bucket", "bbb-bucket"], /conflict/],
    [[], /--add-bucket or --remove-bucket is required/],
    [
      ["--remove-bucket", "aaa-bucket", "--permission", "object-read-write"],
      /--permission applies only to --add-bucket/,
    ],
    [["--remove-bucket", "Bad_Bucket"], /--remove-bucket.*"Bad_Bucket"/],
  ])("usage %j → exit 2, no API call", async (args, message) => {
    const result = await rescope(["--token-id", "0".repeat(32), ...args]);
    expect(result.exitCode, describeCli(result)).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(emu.emulator.calls).toEqual([]);
  });
});
