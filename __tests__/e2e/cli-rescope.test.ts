// `r2-ephemeral-credentials rescope` end to end: an existing key pair is refused on a new bucket at
// the S3 endpoint; after rescope the SAME credentials work there. The PUT keeps everything else of
// the token (name, expiry, other policies); a second run changes nothing.
import { createHash } from "node:crypto";
import { describe, expect, test } from "vitest";
import type { TokenView } from "../../emulator/types.js";
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
