/**
 * Rules that pin GitHub's ids, and prefixes filled from the token's claims, through the Worker in
 * workerd (Miniflare) against the emulator: a re-registered name is refused by its id, one owner-wide
 * rule confines each repository to its own prefix (at S3 too), a claim the token lacks makes the rule
 * not match, and rules that pin names only are warned about once per isolate.
 */
import { describe, expect, it } from "vitest";
import { callSequence } from "../helpers/emulator.js";
import { githubIdOf, type OidcIssuer } from "../helpers/oidc-issuer.js";
import { putText, s3ClientFromOutputs } from "../helpers/s3.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { useVendingWorker } from "../helpers/vending-worker.js";

const OWNER = "octo-org";
const OWNER_ID = githubIdOf(OWNER);
const REPO = `${OWNER}/octo-repo`;
const REPO_ID = githubIdOf(REPO);
const SIBLING = `${OWNER}/sibling`;

const POLICY = {
  rules: [
    {
      // Pinned by name and id: a repository re-registered under this name is not it.
      repository: REPO,
      repository_id: REPO_ID,
      buckets: ["artifacts"],
      permissions: ["object-read-write"],
      max_ttl: "1h",
    },
    {
      // Every repository of the owner, each under its own id, in one bucket.
      repository_owner_id: OWNER_ID,
      buckets: ["shared-data"],
      permissions: ["object-read-write"],
      prefixes: ["{repository_id}/"],
      max_ttl: "1h",
    },
    {
      // Releases per environment; jobs without an environment do not match.
      repository_id: REPO_ID,
      buckets: ["releases"],
      permissions: ["object-read-write"],
      prefixes: ["{repository}/{environment}/"],
      max_ttl: "30m",
    },
    {
      // Names only: still accepted, but warned about.
      repository_owner: "legacy-org",
      buckets: ["legacy"],
      permissions: ["object-read-only"],
      max_ttl: "15m",
    },
  ],
};

const artifacts = { bucket: "artifacts", permission: "object-read-write" };

const emu = useEmulator({ buckets: ["artifacts", "shared-data", "releases", "legacy"] });

const keyless = useVendingWorker(emu, POLICY);

async function mintAs(claims: Parameters<OidcIssuer["claims"]>[0], body: unknown) {
  const token = await keyless.issuer.sign(keyless.issuer.claims(claims));
  return { token, answer: await keyless.worker.mint(token, body) };
}

describe("rules pin ids", () => {
  it("the repository with the pinned id mints; one re-registered under the same name is refused by its id", async () => {
    const { token, answer } = await mintAs({ repository: REPO }, artifacts);
    expect(answer.status, answer.text).toBe(200);
    expect((await keyless.worker.revoke(token, answer.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });

    emu.emulator.resetCalls();
    const impostor = await mintAs({ repository: REPO, repository_id: "987" }, artifacts);
    expect(impostor.answer.status, impostor.answer.text).toBe(403);
    expect(impostor.answer.body.error?.code).toBe("policy_denied");
    // Rule 1 names it by name and fails on the id; the owner-wide rule 2 names it by owner id.
    expect(impostor.answer.body.error?.message).toContain(
      `rule 1: repository_id 987 does not match the policy's ${REPO_ID} for ${REPO}`,
    );
    expect(callSequence(emu.emulator)).toEqual([]);
    expect(emu.emulator.liveChildTokens()).toEqual([]);
  });

  it("a token without repository_id does not pass a rule that pins it", async () => {
    const claims = keyless.issuer.claims({ repository: REPO });
    const { repository_id: _id, ...withoutId } = claims;
    const answer = await keyless.worker.mint(await keyless.issuer.sign(withoutId), artifacts);
    expect(answer.status, answer.text).toBe(403);
    expect(answer.body.error?.message).toContain(
      `repository_id (none) does not match the policy's ${REPO_ID}`,
    );
  });

  it("an owner-id rule: a repository of an owner re-registered under the old name is not in the policy", async () => {
    const { answer } = await mintAs(
      { repository: "octo-org/new-repo", repository_owner_id: "987" },
      { bucket: "shared-data", permission: "object-read-write" },
    );
    expect(answer.status, answer.text).toBe(403);
    expect(answer.body.error?.message).toContain("repository octo-org/new-repo is not in the policy");
    expect(answer.body.error?.message).toContain("repository_owner_id 987");
  });
});

describe("prefixes filled from the claims", () => {
  it("one owner-wide rule: each repository is narrowed to its own id, and S3 holds it there", async () => {
    const first = await mintAs(
      { repository: REPO },
      { bucket: "shared-data", permission: "object-read-write" },
    );
    const second = await mintAs(
      { repository: SIBLING },
      { bucket: "shared-data", permission: "object-read-write" },
    );
    for (const { answer } of [first, second]) expect(answer.status, answer.text).toBe(200);
    const siblingId = githubIdOf(SIBLING);
    // Neither asked for prefixes: the Worker narrowed each to its rule's filled prefix, and says so.
    expect(first.answer.body).toMatchObject({ mode: "hybrid", prefixes: [`${REPO_ID}/`], objects: [] });
    expect(second.answer.body).toMatchObject({ mode: "hybrid", prefixes: [`${siblingId}/`], objects: [] });

    const s3 = s3ClientFromOutputs(first.answer.body as Record<string, string>);
    expect(await putText(s3, "shared-data", `${REPO_ID}/part-0`, "rows")).toMatchObject({ ok: true });
    expect(await putText(s3, "shared-data", `${siblingId}/part-0`, "rows")).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(await putText(s3, "shared-data", "part-0", "rows")).toMatchObject({ ok: false, status: 403 });
    s3.destroy();
    for (const { token, answer } of [first, second]) {
      expect((await keyless.worker.revoke(token, answer.body["token-id"] ?? "")).body).toEqual({
        revoked: true,
      });
    }
  });

  it("a request inside the filled prefix is granted as asked; one inside another repository's is refused", async () => {
    const inside = await mintAs(
      { repository: REPO },
      { bucket: "shared-data", permission: "object-read-write", prefixes: `${REPO_ID}/nightly/` },
    );
    expect(inside.answer.status, inside.answer.text).toBe(200);
    expect(inside.answer.body).toMatchObject({ prefixes: [`${REPO_ID}/nightly/`], objects: [] });
    expect((await keyless.worker.revoke(inside.token, inside.answer.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });

    emu.emulator.resetCalls();
    const siblingId = githubIdOf(SIBLING);
    const outside = await mintAs(
      { repository: REPO },
      { bucket: "shared-data", permission: "object-read-write", objects: `${siblingId}/secrets.csv` },
    );
    expect(outside.answer.status, outside.answer.text).toBe(403);
    expect(outside.answer.body.error?.message).toContain(
      `object ${siblingId}/secrets.csv is outside the policy's prefixes ${REPO_ID}/ for ${REPO}`,
    );
    expect(callSequence(emu.emulator)).toEqual([]);
  });

  it("{environment}: a job in an environment gets its own prefix; a job without one does not match", async () => {
    const prod = await mintAs(
      { repository: REPO, environment: "production" },
      { bucket: "releases", permission: "object-read-write", ttl: "30m" },
    );
    expect(prod.answer.status, prod.answer.text).toBe(200);
    expect(prod.answer.body.prefixes).toEqual([`${REPO}/production/`]);
    expect((await keyless.worker.revoke(prod.token, prod.answer.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });

    emu.emulator.resetCalls();
    const none = await mintAs({ repository: REPO }, { bucket: "releases", permission: "object-read-write" });
    expect(none.answer.status, none.answer.text).toBe(403);
    expect(none.answer.body.error?.message).toContain(
      "the policy's prefix {repository}/{environment}/ needs the environment claim, which the token does not carry",
    );
    expect(callSequence(emu.emulator)).toEqual([]);
  });
});

describe("rules that pin names only", () => {
  it("are accepted, and logged as one warning per rule when the isolate first reads its settings", async () => {
    const { token, answer } = await mintAs({ repository: "legacy-org/tools" }, { bucket: "legacy" });
    expect(answer.status, answer.text).toBe(200);
    expect((await keyless.worker.revoke(token, answer.body["token-id"] ?? "")).body).toEqual({
      revoked: true,
    });
    const warning = await keyless.worker.waitForLog((entry) => entry.event === "policy.names_only");
    expect(warning).toMatchObject({ level: "warn", rule: 4 });
    expect(String(warning.message)).toContain("POLICY rule 4 pins repository_owner legacy-org by name only");
    expect(String(warning.message)).toContain('add "repository_owner_id"');
    // Once per isolate, however many requests it served; and only for the names-only rule.
    const warnings = keyless.worker.logs.filter((line) => line.includes('"event":"policy.names_only"'));
    expect(warnings).toHaveLength(1);
  });
});
