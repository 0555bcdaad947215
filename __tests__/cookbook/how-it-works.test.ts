// docs/how-it-works.md: its `curl` blocks run, in the order a reader runs them, against the emulator
// (bash, curl --aws-sigv4, jq, sha256sum), and what they send is compared with what the action sends
// for the same inputs: same bodies (up to the token name and expiry), same calling token.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { CallRecord } from "../../emulator/types.js";
import { describeStep, type Inputs, repoRoot, runMain } from "../../scripts/harness/runner.js";
import { type SpawnResult, spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { findMissing, needClients } from "../helpers/clients.js";
import { callsTo, deleteLeftoverChildTokens, emulatorInputs, liveChildIds } from "../helpers/emulator.js";
import { useEmulator } from "../helpers/use-emulator.js";

const docPath = path.join(repoRoot, "docs/how-it-works.md");
const BLOCK = /<!--\s*run:\s*([a-z0-9-]+)\s*-->\s*\n```sh\n([\s\S]*?)\n```/g;

function blocks(): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of fs.readFileSync(docPath, "utf8").matchAll(BLOCK)) {
    const [, id, script] = match as unknown as [string, string, string];
    found.set(id, script);
  }
  return found;
}

/** New credentials are refused for this long, as on Cloudflare, so the probe loop has work to do. */
const PROPAGATION_DELAY_MS = 400;
let home: string;
const BUCKET = "my-bucket";

const emu = useEmulator({
  propagationDelayMs: PROPAGATION_DELAY_MS,
  buckets: [BUCKET],
  // The action's main step runs here without its post step: its child is deleted after each test.
  leftovers: "delete",
});

/** curl must be recent enough for --aws-sigv4 (sha256sum and od come with coreutils). */
async function checkCurlVersion(): Promise<void> {
  const curl = await spawnWithTimeout("/usr/bin/curl", ["--version"], { env: { PATH: "/usr/bin:/bin" } });
  const [, major = "0", minor = "0"] = /^curl (\d+)\.(\d+)/.exec(curl.stdout) ?? [];
  if (Number(major) * 100 + Number(minor) < 775) {
    throw new Error(`curl 7.75 or later is needed for --aws-sigv4, found: ${curl.stdout.split("\n")[0]}`);
  }
}

/** Runs the named blocks, concatenated, in one bash session with the setup block's variables. */
async function runBlocks(ids: string[], bucket = BUCKET): Promise<SpawnResult> {
  const all = blocks();
  const script = ids
    .map((id) => {
      const block = all.get(id);
      if (block === undefined) throw new Error(`docs/how-it-works.md has no block "<!-- run: ${id} -->"`);
      return `# --- ${id}\n${block}`;
    })
    .join("\n");
  const result = await spawnWithTimeout("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    env: {
      PATH: "/usr/bin:/bin",
      HOME: home,
      CLOUDFLARE_API_TOKEN: emu.minter.value,
      ACCOUNT_ID: emu.emulator.accountId,
      BUCKET: bucket,
      JURISDICTION: "default",
      API: emu.emulator.apiUrl,
      S3: emu.emulator.s3Endpoint(),
    },
    timeoutMs: 30_000,
  });
  if (result.exitCode !== 0) {
    throw new Error(`blocks ${ids.join(", ")} exited ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** The action's main step with the same inputs; its calls are compared with the page's. */
async function runAction(inputs: Inputs, bucket = BUCKET): Promise<void> {
  const main = await runMain({ inputs: emulatorInputs(emu.emulator, emu.minter, bucket, inputs) });
  expect(main.exitCode, describeStep(main)).toBe(0);
}

function bodyOf(calls: CallRecord[]): Record<string, unknown> {
  expect(calls).toHaveLength(1);
  return calls[0]?.body as Record<string, unknown>;
}

/** A create body with the per-mint parts (name, expiry) replaced, after checking their form. */
function normalisedCreate(body: Record<string, unknown>): Record<string, unknown> {
  expect(body.name).toMatch(/^r2-ephemeral .+ [0-9a-f]{8}$/);
  expect(body.expires_on).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  return { ...body, name: "<name>", expires_on: "<expires_on>" };
}

/** Runs `part` twice — once as the page's blocks, once as the action — and returns both call logs. */
async function both(
  blocksToRun: string[],
  inputs: Inputs,
  bucket = BUCKET,
  docPropagationDelayMs = PROPAGATION_DELAY_MS,
): Promise<{ doc: CallRecord[]; action: CallRecord[]; output: string }> {
  emu.emulator.resetCalls();
  emu.emulator.set({ propagationDelayMs: docPropagationDelayMs });
  let output: string;
  try {
    output = (await runBlocks(blocksToRun, bucket)).stdout;
  } finally {
    emu.emulator.set({ propagationDelayMs: PROPAGATION_DELAY_MS });
  }
  const doc = [...emu.emulator.calls];
  await deleteLeftoverChildTokens(emu.emulator, { account: emu.minter });
  emu.emulator.resetCalls();
  await runAction(inputs, bucket);
  const action = [...emu.emulator.calls];
  return { doc, action, output };
}

beforeAll(async () => {
  if (findMissing(["curl", "jq"]).length === 0) await checkCurlVersion();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-how-it-works-"));
});

afterAll(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

beforeEach((ctx) => {
  needClients(ctx, "curl", "jq");
});

describe("docs/how-it-works.md", () => {
  test("has a setup block that defines exactly the variables the other blocks use", () => {
    const setup = blocks().get("setup") ?? "";
    for (const name of ["CLOUDFLARE_API_TOKEN", "ACCOUNT_ID", "BUCKET", "JURISDICTION", "API", "S3"]) {
      expect(setup).toMatch(new RegExp(`^export ${name}=`, "m"));
    }
    expect(setup).toContain("export API=https://api.cloudflare.com/client/v4");
    expect(setup).toContain('export S3="https://$ACCOUNT_ID.r2.cloudflarestorage.com"');
  });

  test("token mode: the create body is the action's, the derived keys pass the probe, the delete revokes", async () => {
    // A propagation delay longer than the create and derive blocks take even on a busy machine, so
    // the loop must see refusals (403) before the key is accepted.
    const { doc, action, output } = await both(
      ["token-create", "derive", "probe", "revoke"],
      { permission: "object-read-write" },
      BUCKET,
      3_000,
    );
    expect(doc.map((call) => `${call.route} ${call.status}`)).toEqual([
      "tokens.create 200",
      "tokens.delete 200",
    ]);
    const docCreate = bodyOf(doc.filter((c) => c.route === "tokens.create"));
    const actionCreate = bodyOf(action.filter((c) => c.route === "tokens.create"));
    expect(normalisedCreate(docCreate)).toEqual(normalisedCreate(actionCreate));
    expect(Object.keys(docCreate)).toEqual(Object.keys(actionCreate));
    // The hand-derived secret was accepted by the SigV4-verifying endpoint, after the propagation delay.
    const probes = /accepted after (\d+) probes \(HTTP 404\)/.exec(output);
    expect(probes, output).not.toBeNull();
    expect(Number(probes?.[1]), output).toBeGreaterThan(1);
    expect(liveChildIds(emu.emulator).length).toBe(1); // the action's own child; afterEach deletes it
  });

  test("token mode: the permission-group lookup finds the id the action sends first", async () => {
    const { stdout } = await runBlocks(["groups-lookup"]);
    expect(JSON.parse(stdout.trim().split("\n")[0] as string)).toMatchObject({
      id: "2efd5506f9c8494dacb1fa10a3e7d5b6",
      name: "Workers R2 Storage Bucket Item Write",
    });
    const lookup = callsTo(emu.emulator, "permission_groups.list")[0];
    expect(lookup?.path).toContain("scope=com.cloudflare.edge.r2.bucket");
  });

  test("token mode: the lookup by name finds exactly the token just created", async () => {
    const { stdout } = await runBlocks(["token-create", "find-by-name", "revoke"]);
    const listed = stdout.split("\n").filter((line) => /^[0-9a-f]{32}$/.test(line));
    expect(listed).toHaveLength(1);
    // revoke deletes $TOKEN_ID, the id the create answered: the same token the name found.
    expect(callsTo(emu.emulator, "tokens.delete")[0]?.path).toBe(
      `/accounts/${emu.emulator.accountId}/tokens/${listed[0]}`,
    );
  });

  test("hybrid mode: temp-access-credentials with the input token on the child's behalf, with the action's body", async () => {
    const { doc, action, output } = await both(["token-create", "hybrid-temp", "probe", "revoke"], {
      permission: "object-read-write",
      prefixes: "pipelines/orders/",
    });
    expect(doc.map((call) => `${call.route} ${call.status}`)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 200",
      "tokens.delete 200",
    ]);
    expect(action.map((call) => `${call.route} ${call.status}`)).toEqual([
      "tokens.create 200",
      "r2.temp_credentials 200",
    ]);
    for (const calls of [doc, action]) {
      const temp = calls.find((call) => call.route === "r2.temp_credentials") as CallRecord;
      const childId = (temp.body as { parentAccessKeyId: string }).parentAccessKeyId;
      // Authenticated with the input token, naming the child as the parent.
      expect(temp.tokenId).toBe(emu.minter.id);
      expect(childId).not.toBe(emu.minter.id);
    }
    const docTemp = bodyOf(doc.filter((c) => c.route === "r2.temp_credentials"));
    const actionTemp = bodyOf(action.filter((c) => c.route === "r2.temp_credentials"));
    expect({ ...docTemp, parentAccessKeyId: "<child>" }).toEqual({
      ...actionTemp,
      parentAccessKeyId: "<child>",
    });
    expect(Object.keys(docTemp)).toEqual(Object.keys(actionTemp));
    expect(output).toMatch(/accepted after \d+ probes \(HTTP 404\)/);
    // The probe went under the prefix, where the narrowed credentials reach.
    const probe = emu.emulator.s3Calls.find((call) => call.method === "GET");
    expect(probe?.key.startsWith("pipelines/orders/r2-ephemeral-readiness-")).toBe(true);
  });

  test("hybrid mode with admin-read-write: the account-level child body is the action's", async () => {
    const { doc, action } = await both(["hybrid-admin-create", "revoke"], { permission: "admin-read-write" });
    expect(normalisedCreate(bodyOf(doc.filter((c) => c.route === "tokens.create")))).toEqual(
      normalisedCreate(bodyOf(action.filter((c) => c.route === "tokens.create"))),
    );
  });

  test("temporary mode: verify, then temp-access-credentials with the input token, as the action does", async () => {
    const { doc, action, output } = await both(["temporary-verify", "temporary-temp", "probe"], {
      mode: "temporary",
      ttl: "15m",
    });
    expect(doc.map((call) => call.route)).toEqual(["tokens.verify", "r2.temp_credentials"]);
    expect(action.map((call) => call.route)).toEqual(["tokens.verify", "r2.temp_credentials"]);
    expect(doc[0]?.path).toBe(action[0]?.path);
    expect(doc[1]?.tokenId).toBe(emu.minter.id);
    expect(action[1]?.tokenId).toBe(emu.minter.id);
    expect(doc[1]?.body).toEqual(action[1]?.body);
    expect(output).toContain(`parent: ${emu.minter.id}`);
    expect(output).toMatch(/accepted after \d+ probes \(HTTP 404\)/);
  });

  test("create-bucket: GET answers 10006, then POST with the action's body", async () => {
    await runBlocks(["create-bucket"], "fresh-bucket");
    expect(emu.emulator.calls.map((call) => `${call.route} ${call.status}`)).toEqual([
      "r2.buckets.get 404",
      "r2.buckets.create 200",
    ]);
    expect(emu.emulator.calls[1]?.body).toEqual({ name: "fresh-bucket", locationHint: "weur" });
    emu.emulator.resetCalls();
    await runAction({ "create-bucket": "true", "location-hint": "weur" }, "another-fresh-bucket");
    expect(emu.emulator.calls.slice(0, 2).map((call) => `${call.route} ${call.status}`)).toEqual([
      "r2.buckets.get 404",
      "r2.buckets.create 200",
    ]);
    expect(emu.emulator.calls[1]?.body).toEqual({ name: "another-fresh-bucket", locationHint: "weur" });
    // And a second run of the page's block finds the bucket: one GET, no POST.
    emu.emulator.resetCalls();
    await runBlocks(["create-bucket"], "fresh-bucket");
    expect(emu.emulator.calls.map((call) => `${call.route} ${call.status}`)).toEqual(["r2.buckets.get 200"]);
  });
});
