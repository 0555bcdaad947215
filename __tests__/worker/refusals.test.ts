/**
 * Every refusal of the vending Worker, run in workerd (Miniflare) against the emulator: the right status,
 * stable code and a message that names the failed claim or policy rule, and nothing minted or deleted
 * (the emulator saw no Cloudflare call for a refused mint, no DELETE for a refused revoke).
 */
import { describe, expect, it } from "vitest";
import { callSequence } from "../helpers/emulator.js";
import type { GitHubClaims, SignOptions } from "../helpers/oidc-issuer.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { useVendingWorker, type WorkerAnswer } from "../helpers/vending-worker.js";
import { BUCKETS, OTHER_REPO, PIPELINES, POLICY, REPO } from "./fixtures.js";

const emu = useEmulator({ buckets: [...BUCKETS] });

const keyless = useVendingWorker(emu, POLICY);

function expectError(answer: WorkerAnswer, status: number, code: string, ...fragments: string[]): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.body.error?.status).toBe(status);
  expect(answer.body.error?.code).toBe(code);
  for (const fragment of fragments) expect(answer.body.error?.message).toContain(fragment);
  expect(answer.text).not.toContain(emu.minter.value);
}

interface MintRefusal {
  name: string;
  claims?: Partial<GitHubClaims>;
  sign?: SignOptions;
  /** A raw Authorization header instead of a signed token (null: none). */
  authorization?: string | null;
  body?: unknown;
  status: number;
  code: string;
  message: string[];
}

const artifacts = { bucket: "artifacts", permission: "object-read-write" };

const MINT_REFUSALS: MintRefusal[] = [
  {
    name: "missing Authorization",
    authorization: null,
    status: 401,
    code: "unauthenticated",
    message: ["no Authorization header", "id-token: write"],
  },
  {
    name: "Authorization that is not a bearer token",
    authorization: "Basic dXNlcjpwYXNz",
    status: 401,
    code: "unauthenticated",
    message: ["Bearer <GitHub OIDC token>"],
  },
  {
    name: "a bearer token that is not a JWT",
    authorization: "Bearer not-a-jwt",
    status: 401,
    code: "invalid_token",
    message: ["not a valid signed JWT"],
  },
  {
    name: "wrong audience",
    sign: { audience: "https://someone-else.example" },
    status: 401,
    code: "wrong_audience",
    message: ["audience is https://someone-else.example", "accepts only https://vending.test"],
  },
  {
    name: "wrong issuer",
    sign: { issuer: "https://token.actions.example.com" },
    status: 401,
    code: "wrong_issuer",
    message: ["issued by https://token.actions.example.com", "trusts only http://127.0.0.1:"],
  },
  {
    name: "expired token",
    sign: { expiresIn: -600 },
    status: 401,
    code: "expired",
    message: ["The OIDC token expired at"],
  },
  {
    name: "token not valid yet (nbf in 10 min)",
    sign: { notBefore: 600 },
    status: 401,
    code: "invalid_token",
    message: ["not valid yet"],
  },
  {
    name: "forged signature (another key, the issuer's kid)",
    sign: { forged: true },
    status: 401,
    code: "invalid_token",
    message: ["signature does not verify"],
  },
  {
    name: "forged signature (another key, an unknown kid)",
    sign: { forged: true, kid: "attacker-key" },
    status: 401,
    code: "invalid_token",
    message: ["No key of http://127.0.0.1:", "matches the OIDC token's key id"],
  },
  {
    name: "an algorithm other than RS256 (HS256 keyed with the public JWK)",
    sign: { alg: "HS256" },
    status: 401,
    code: "invalid_token",
    message: ["RS256"],
  },
  {
    name: "a token without GitHub's run claims",
    claims: { run_id: undefined as unknown as string },
    status: 401,
    code: "invalid_token",
    message: ["run_id"],
  },
  {
    name: "repository not in the policy",
    claims: { repository: "octo-org/other" },
    status: 403,
    code: "policy_denied",
    message: ["repository octo-org/other is not in the policy"],
  },
  {
    name: "ref not allowed (the rule pins refs/heads/main)",
    claims: { repository: REPO, ref: "refs/heads/dev" },
    status: 403,
    code: "policy_denied",
    message: ["ref refs/heads/dev is not allowed for octo-org/octo-repo", "requires ref refs/heads/main"],
  },
  {
    name: "bucket not allowed",
    claims: { repository: OTHER_REPO },
    body: { bucket: "secrets", permission: "object-read-write" },
    status: 403,
    code: "policy_denied",
    message: ["bucket secrets is not allowed for octo-org/other-repo"],
  },
  {
    name: "bucket not allowed by any of two candidate rules (each rule's reason)",
    claims: { repository: REPO },
    body: { bucket: "unlisted" },
    status: 403,
    code: "policy_denied",
    message: [
      "rule 1: bucket unlisted is not allowed for octo-org/octo-repo",
      "rule 2: environment (none) is not allowed for octo-org/octo-repo: the policy requires environment prod",
    ],
  },
  {
    name: "one of several buckets not allowed",
    claims: { repository: OTHER_REPO },
    body: { bucket: "artifacts,logs-nightly" },
    status: 403,
    code: "policy_denied",
    message: ["bucket logs-nightly is not allowed for octo-org/other-repo"],
  },
  {
    name: "jurisdiction not allowed (a bucket of the same name in eu is another bucket)",
    claims: { repository: OTHER_REPO },
    body: { ...artifacts, jurisdiction: "eu" },
    status: 403,
    code: "policy_denied",
    message: ["jurisdiction eu is not allowed for octo-org/other-repo (the policy allows default)"],
  },
  {
    name: "permission not allowed",
    claims: { repository: REPO, environment: "prod" },
    body: { bucket: "secrets", permission: "object-read-write" },
    status: 403,
    code: "policy_denied",
    message: [
      "permission object-read-write is not allowed for octo-org/octo-repo (the policy allows object-read-only)",
    ],
  },
  {
    name: "ttl beyond max_ttl",
    claims: { repository: OTHER_REPO },
    body: { ...artifacts, ttl: "3h" },
    status: 403,
    code: "policy_denied",
    message: ["ttl 3h exceeds the policy's max_ttl 1h"],
  },
  {
    name: "ttl beyond max_ttl, in seconds",
    claims: { repository: OTHER_REPO },
    body: { ...artifacts, ttl: 3601 },
    status: 403,
    code: "policy_denied",
    message: ["ttl 3601 exceeds the policy's max_ttl 1h"],
  },
  {
    name: "prefixes outside the policy's prefixes",
    claims: { repository: PIPELINES },
    body: { bucket: "data", permission: "object-read-write", prefixes: ["pipelines/a/", "other/"] },
    status: 403,
    code: "policy_denied",
    message: ["prefix other/ is outside the policy's prefixes pipelines/ for octo-org/pipelines"],
  },
  {
    name: "objects outside the policy's prefixes",
    claims: { repository: PIPELINES },
    body: { bucket: "data", permission: "object-read-write", objects: "secrets.csv" },
    status: 403,
    code: "policy_denied",
    message: ["object secrets.csv is outside the policy's prefixes pipelines/"],
  },
  {
    name: "an invalid input (parseConfig's message)",
    claims: { repository: REPO },
    body: { bucket: "Not_A_Bucket" },
    status: 400,
    code: "bad_request",
    message: ['Input bucket has "Not_A_Bucket", which is not a valid R2 bucket name'],
  },
  {
    name: "a contradiction between inputs (parseConfig's message)",
    claims: { repository: REPO },
    body: { bucket: ["artifacts", "logs-nightly"], prefixes: "a/" },
    status: 400,
    code: "bad_request",
    message: ["Inputs bucket and prefixes conflict"],
  },
  {
    name: "a field the Worker does not take",
    claims: { repository: REPO },
    body: { ...artifacts, "token-name": "mine", "api-url": "http://evil.example" },
    status: 400,
    code: "bad_request",
    message: [
      "token-name, api-url are not accepted",
      "bucket, permission, prefixes, objects, ttl, jurisdiction",
    ],
  },
  {
    name: "mode temporary (never revocable)",
    claims: { repository: REPO },
    body: { ...artifacts, mode: "temporary" },
    status: 400,
    code: "bad_request",
    message: ["only revocable child tokens"],
  },
  {
    name: "a body that is not JSON",
    claims: { repository: REPO },
    body: "bucket=artifacts",
    status: 400,
    code: "bad_request",
    message: ["not valid JSON"],
  },
];

describe("POST /v1/mint refusals: nothing is minted", () => {
  it.each(MINT_REFUSALS)("$name → $status $code", async (refusal) => {
    const claims = keyless.issuer.claims(refusal.claims);
    for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
    const authorization =
      refusal.authorization === undefined
        ? `Bearer ${await keyless.issuer.sign(claims, refusal.sign)}`
        : refusal.authorization;
    const answer = await keyless.worker.post("/v1/mint", undefined, refusal.body ?? artifacts, {
      headers: authorization === null ? {} : { authorization },
    });
    expectError(answer, refusal.status, refusal.code, ...refusal.message);
    if (refusal.status === 401) expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
  });
});

describe("POST /v1/revoke refusals: nothing is deleted", () => {
  async function mintFor(claims: GitHubClaims): Promise<string> {
    const minted = await keyless.worker.mint(await keyless.issuer.sign(claims), artifacts);
    expect(minted.status, minted.text).toBe(200);
    emu.emulator.resetCalls();
    return minted.body["token-id"] ?? "";
  }

  it("another repository's token → 403 not_owner, the token lives", async () => {
    const owner = keyless.issuer.claims({ repository: REPO });
    const tokenId = await mintFor(owner);
    // Same run id even: the repository alone must refuse it.
    const intruder = await keyless.issuer.sign({
      ...keyless.issuer.claims({ repository: OTHER_REPO }),
      run_id: owner.run_id,
    });
    const answer = await keyless.worker.revoke(intruder, tokenId);
    expectError(
      answer,
      403,
      "not_owner",
      `Token ${tokenId} was not minted for ${OTHER_REPO}`,
      "nothing was deleted",
    );
    expect(answer.text).not.toContain(REPO);
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200"]);
    expect(emu.emulator.liveChildTokens().map((t) => t.id)).toContain(tokenId);
    expect((await keyless.worker.revoke(await keyless.issuer.sign(owner), tokenId)).body).toEqual({
      revoked: true,
    });
  });

  it("another run's token of the same repository → 403 not_owner, the token lives", async () => {
    const owner = keyless.issuer.claims({ repository: REPO });
    const tokenId = await mintFor(owner);
    // A run id that extends the owner's (run 12 must not pass for run 123).
    const other = keyless.issuer.claims({ repository: REPO, run_id: `${owner.run_id.slice(0, -1)}` });
    const answer = await keyless.worker.revoke(await keyless.issuer.sign(other), tokenId);
    expectError(
      answer,
      403,
      "not_owner",
      `another run of ${REPO}, not run ${other.run_id}`,
      "nothing was deleted",
    );
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200"]);
    expect(emu.emulator.liveChildTokens().map((t) => t.id)).toContain(tokenId);
    expect((await keyless.worker.revoke(await keyless.issuer.sign(owner), tokenId)).body).toEqual({
      revoked: true,
    });
  });

  it("a token this tool did not mint (the Worker's own) → 403 not_owner", async () => {
    const own = emu.emulator
      .liveTokens()
      .find((t) => !emu.emulator.liveChildTokens().some((c) => c.id === t.id));
    expect(own).toBeDefined();
    const answer = await keyless.worker.revoke(
      await keyless.issuer.sign(keyless.issuer.claims({ repository: REPO })),
      own?.id ?? "",
    );
    expectError(answer, 403, "not_owner", "nothing was deleted");
    expect(callSequence(emu.emulator)).toEqual(["tokens.get 200"]);
  });

  it.each([
    ["wrong audience", { audience: "https://someone-else.example" }, "wrong_audience"],
    ["expired token", { expiresIn: -600 }, "expired"],
    ["forged signature", { forged: true }, "invalid_token"],
  ] as const)("%s → 401 before any Cloudflare call", async (_name, sign, code) => {
    const owner = keyless.issuer.claims({ repository: REPO });
    const tokenId = await mintFor(owner);
    const answer = await keyless.worker.revoke(await keyless.issuer.sign(owner, sign), tokenId);
    expectError(answer, 401, code);
    expect(callSequence(emu.emulator)).toEqual([]);
    expect((await keyless.worker.revoke(await keyless.issuer.sign(owner), tokenId)).body).toEqual({
      revoked: true,
    });
  });

  it("missing Authorization and a malformed token id → 401 and 400, no call", async () => {
    expectError(await keyless.worker.revoke(undefined, "0".repeat(32)), 401, "unauthenticated");
    const token = await keyless.issuer.sign(keyless.issuer.claims({ repository: REPO }));
    expectError(await keyless.worker.revoke(token, "../../tokens"), 400, "bad_request", "not a token id");
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});

describe("routing", () => {
  it("other routes → 404 not_found; GET on a route → 405 with Allow: POST", async () => {
    expectError(
      await keyless.worker.request("/v1/other", { method: "POST" }),
      404,
      "not_found",
      "POST /v1/mint",
    );
    expectError(await keyless.worker.request("/", { method: "GET" }), 404, "not_found");
    const get = await keyless.worker.request("/v1/mint", { method: "GET" });
    expectError(get, 405, "method_not_allowed", "POST only");
    expect(get.headers.get("allow")).toBe("POST");
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});
