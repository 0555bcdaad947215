// `create-bucket: true` end to end (the bundled action, runner protocol): GET each bucket with its
// jurisdiction, create it only on 10006 (jurisdiction and location hint honoured) before the token is
// minted, and settle a 409/10073 on create with another GET. Plus what a user sees when the bucket
// is missing and create-bucket is false.
import { describe, expect, test } from "vitest";
import { describeStep, errorLines, runMain, runPost } from "../../scripts/harness/runner.js";
import {
  bucketName,
  callSequence,
  callsTo,
  deleteLeftoverChildTokens,
  emulatorInputs,
  liveChildIds,
} from "../helpers/emulator.js";
import { putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";

const emu = useEmulator({ minters: [{ scope: "account", name: "create-bucket minter" }] });

const BUCKET_EXISTS = {
  code: 10073,
  message: "The bucket you tried to create already exists, and you own it.",
};
/** What two independent clients see from the REST create for a bucket the account owns. */
const ALREADY_OWNED = {
  code: 10004,
  message: "The bucket you tried to create already exists, and you own it.",
};
const NO_SUCH_BUCKET = { code: 10006, message: "The specified bucket does not exist." };

/** Whether the emulator holds the bucket in that jurisdiction (getObject throws for a missing bucket). */
function bucketExists(name: string, jurisdiction: "default" | "eu" = "default"): boolean {
  try {
    emu.emulator.getObject(name, "probe", jurisdiction);
    return true;
  } catch {
    return false;
  }
}

/** The bucket as Cloudflare's API describes it (GET with cf-r2-jurisdiction). */
async function apiBucket(name: string, jurisdiction: string): Promise<Record<string, unknown>> {
  const response = await fetch(
    `${emu.emulator.apiUrl}/accounts/${emu.emulator.accountId}/r2/buckets/${name}`,
    {
      headers: {
        authorization: `Bearer ${emu.minter.value}`,
        ...(jurisdiction === "default" ? {} : { "cf-r2-jurisdiction": jurisdiction }),
      },
    },
  );
  const body = (await response.json()) as { success: boolean; result: Record<string, unknown> };
  expect(body.success, `GET bucket ${name} (${jurisdiction})`).toBe(true);
  return body.result;
}

describe("create-bucket: true", () => {
  test("a missing bucket is created (eu, location hint) BEFORE the token is minted, and the credentials work on it", async () => {
    const bucket = bucketName("cb-new");
    const inputs = emulatorInputs(emu.emulator, emu.minter, bucket, {
      "create-bucket": "true",
      jurisdiction: "eu",
      "location-hint": "weur",
      permission: "object-read-write",
    });
    const main = await runMain({ inputs });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator).slice(0, 3)).toEqual([
      "r2.buckets.get 404",
      "r2.buckets.create 200",
      "tokens.create 200",
    ]);
    const [get] = callsTo(emu.emulator, "r2.buckets.get");
    expect(get?.path).toBe(`/accounts/${emu.emulator.accountId}/r2/buckets/${bucket}`);
    const [create] = callsTo(emu.emulator, "r2.buckets.create");
    expect(create?.method).toBe("POST");
    expect(create?.path).toBe(`/accounts/${emu.emulator.accountId}/r2/buckets`);
    expect(create?.body).toEqual({ name: bucket, locationHint: "weur" });
    // The cf-r2-jurisdiction header made it an eu bucket (without it, the emulator creates it in default).
    expect(bucketExists(bucket, "eu")).toBe(true);
    expect(bucketExists(bucket, "default")).toBe(false);
    expect(String((await apiBucket(bucket, "eu")).location).toLowerCase()).toBe("weur");
    expect(main.stdout).toMatch(new RegExp(`Created bucket ${bucket}.*eu.*weur`));

    const s3 = s3ClientFromOutputs(main.outputs);
    expect(main.outputs.endpoint).toBe(emu.emulator.s3Endpoint("eu"));
    expect(await putText(s3, bucket, "first.txt", "into the new bucket")).toMatchObject({ ok: true });
    const post = await runPost({ inputs, state: main.state });
    expect(post.exitCode, describeStep(post)).toBe(0);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("an existing bucket: only the GET, no create", async () => {
    const bucket = bucketName("cb-old");
    emu.emulator.createBucket(bucket);
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
        "create-bucket": "true",
        "wait-timeout": "0",
      }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(callSequence(emu.emulator)).toEqual(["r2.buckets.get 200", "tokens.create 200"]);
    expect(main.stdout).toContain(`Bucket ${bucket} exists`);
    await deleteLeftoverChildTokens(emu.emulator, { account: emu.minter });
  });

  test("several buckets: a GET each in input order, only the missing one created, all before the token", async () => {
    const existing = bucketName("cb-has");
    const missing = bucketName("cb-lacks");
    emu.emulator.createBucket(existing);
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, `${existing}\n${missing}`, {
        "create-bucket": "true",
        "wait-timeout": "0",
      }),
    });
    expect(main.exitCode, describeStep(main)).toBe(0);
    expect(
      emu.emulator.calls.map((call) => `${call.route} ${call.status} ${call.path.split("/").pop()}`),
    ).toEqual([
      `r2.buckets.get 200 ${existing}`,
      `r2.buckets.get 404 ${missing}`,
      "r2.buckets.create 200 buckets",
      `tokens.create 200 tokens`,
    ]);
    expect(callsTo(emu.emulator, "r2.buckets.create")[0]?.body).toEqual({ name: missing });
    expect(bucketExists(missing)).toBe(true);
    await deleteLeftoverChildTokens(emu.emulator, { account: emu.minter });
  });

  test.each([
    [409, BUCKET_EXISTS],
    [409, ALREADY_OWNED],
    // wrangler's source: "A 400 is returned if the account already owns a bucket with this name."
    [400, ALREADY_OWNED],
    [400, BUCKET_EXISTS],
  ])(
    "%i/%o on create while the bucket DOES exist (created concurrently): settled by a second GET, minting goes on",
    async (status, conflict) => {
      const bucket = bucketName("cb-race");
      emu.emulator.createBucket(bucket, "eu");
      // The first GET does not see it yet (another job is creating it), the create then conflicts.
      emu.emulator.injectFault({
        route: "r2.buckets.get",
        kind: { type: "status", status: 404, errors: [NO_SUCH_BUCKET] },
      });
      emu.emulator.injectFault({
        route: "r2.buckets.create",
        kind: { type: "status", status, errors: [conflict] },
      });
      const main = await runMain({
        inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
          "create-bucket": "true",
          jurisdiction: "eu",
          "wait-timeout": "0",
        }),
      });
      expect(main.exitCode, describeStep(main)).toBe(0);
      expect(errorLines(main)).toEqual([]);
      expect(callSequence(emu.emulator)).toEqual([
        "r2.buckets.get 404",
        `r2.buckets.create ${status}`,
        "r2.buckets.get 200",
        "tokens.create 200",
      ]);
      expect(main.outputs["token-id"]).toMatch(/^[0-9a-f]{32}$/);
      await deleteLeftoverChildTokens(emu.emulator, { account: emu.minter });
    },
  );

  test("409/10073 on create while the bucket does NOT exist here: a clear error naming the bucket and the jurisdiction, nothing minted", async () => {
    const bucket = bucketName("cb-taken");
    emu.emulator.injectFault({
      route: "r2.buckets.create",
      kind: { type: "status", status: 409, errors: [BUCKET_EXISTS] },
    });
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, {
        "create-bucket": "true",
        jurisdiction: "eu",
      }),
    });
    expect(main.exitCode, describeStep(main)).not.toBe(0);
    expect(callSequence(emu.emulator)).toEqual([
      "r2.buckets.get 404",
      "r2.buckets.create 409",
      "r2.buckets.get 404",
    ]);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(bucket);
    expect(errors[0]).toMatch(/jurisdiction eu|eu jurisdiction|jurisdiction.*"eu"/);
    expect(errors[0]).toMatch(/10073|409/);
    expect(errors[0]).not.toMatch(/\n\s+at /);
    expect(main.outputs["access-key-id"] ?? "").toBe("");
    expect(callsTo(emu.emulator, "tokens.create")).toEqual([]);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("a create refused for another reason (403): fails before minting, naming the bucket", async () => {
    const bucket = bucketName("cb-denied");
    emu.emulator.injectFault({
      route: "r2.buckets.create",
      kind: { type: "status", status: 403, errors: [{ code: 10000, message: "Authentication error" }] },
    });
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "create-bucket": "true" }),
    });
    expect(main.exitCode, describeStep(main)).not.toBe(0);
    expect(callsTo(emu.emulator, "r2.buckets.create")).toHaveLength(1); // 4xx: no retry
    expect(callsTo(emu.emulator, "tokens.create")).toEqual([]);
    expect(errorLines(main)[0]).toContain("403");
    expect(errorLines(main)[0]).toContain(bucket);
  });
});

describe("create-bucket: false and the bucket is missing", () => {
  test("token mode: the step fails naming the bucket (and create-bucket / jurisdiction), and no child token survives", async () => {
    // Today: the token is minted for a bucket that does not exist, readiness takes the S3 404
    // (NoSuchBucket) for "authorised", and the step succeeds; the user finds out at the first upload.
    const bucket = bucketName("cb-absent");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "5" }),
    });
    expect(main.exitCode, describeStep(main)).not.toBe(0);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(bucket);
    expect(errors[0]).toMatch(/create-bucket|jurisdiction/);
    expect(main.outputs["access-key-id"] ?? "").toBe("");
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("token mode, bucket only in eu, jurisdiction default: the step fails pointing at the jurisdiction input", async () => {
    const bucket = bucketName("cb-in-eu");
    emu.emulator.createBucket(bucket, "eu");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { "wait-timeout": "5" }),
    });
    expect(main.exitCode, describeStep(main)).not.toBe(0);
    expect(errorLines(main)[0]).toContain(bucket);
    expect(errorLines(main)[0]).toMatch(/jurisdiction/);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });

  test("hybrid mode: Cloudflare's 10006 is explained, naming the bucket and the jurisdiction input; the child is deleted", async () => {
    const bucket = bucketName("cb-absent-hy");
    const main = await runMain({
      inputs: emulatorInputs(emu.emulator, emu.minter, bucket, { prefixes: "p/" }),
    });
    expect(main.exitCode, describeStep(main)).not.toBe(0);
    const errors = errorLines(main);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("10006");
    expect(errors[0]).toMatch(/jurisdiction/);
    expect(errors[0]).toContain(bucket);
    expect(liveChildIds(emu.emulator)).toEqual([]);
  });
});
