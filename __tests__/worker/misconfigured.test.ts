/**
 * A Worker with a bad or missing var or secret answers 500 server_misconfigured with a message that
 * names the var and the fix, before any Cloudflare call, and never quotes the secret. Each case is its
 * own Worker (its own isolate), since the configuration is read once per isolate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callSequence } from "../helpers/emulator.js";
import { type OidcIssuer, startOidcIssuer } from "../helpers/oidc-issuer.js";
import { useEmulator } from "../helpers/use-emulator.js";
import { startVendingWorker } from "../helpers/vending-worker.js";
import { POLICY, REPO } from "./fixtures.js";

const emu = useEmulator({ buckets: ["artifacts"] });

let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
});

afterAll(async () => {
  await issuer?.close();
});

const CASES: {
  name: string;
  policy?: unknown;
  vars?: Record<string, string | undefined>;
  message: string[];
}[] = [
  { name: "POLICY is not JSON", policy: "{ rules: [", message: ["POLICY is not valid JSON"] },
  {
    name: "POLICY has a misspelt key (bucket for buckets)",
    policy: {
      rules: [{ repository: REPO, bucket: ["artifacts"], permissions: ["object-read-only"], max_ttl: "1h" }],
    },
    message: ["POLICY is not a valid policy", "rules.0.buckets", "rules.0", "bucket"],
  },
  {
    name: "POLICY has a glob in the middle of a bucket name",
    policy: {
      rules: [{ repository: REPO, buckets: ["ar*facts"], permissions: ["object-read-only"], max_ttl: "1h" }],
    },
    message: ["rules.0.buckets.0", "ending in *"],
  },
  {
    name: "POLICY has a max_ttl beyond 7 d",
    policy: {
      rules: [{ repository: REPO, buckets: ["artifacts"], permissions: ["object-read-only"], max_ttl: "8d" }],
    },
    message: ["rules.0.max_ttl", "between 60 s and 7 d"],
  },
  { name: "POLICY has no rules", policy: { rules: [] }, message: ["rules"] },
  ...(
    [
      ["repository_id is a JSON number", { repository_id: 123 }, ["rules.0.repository_id", 'e.g. "123"']],
      ["repository_id is not digits", { repository_id: "octo-repo" }, ["rules.0.repository_id", "digits"]],
      [
        "repository_owner_id is not digits",
        { repository_owner_id: "octo-org" },
        ["rules.0.repository_owner_id"],
      ],
      [
        "repository_owner has a slash",
        { repository_owner: REPO },
        ["rules.0.repository_owner", "owner's name"],
      ],
      [
        "a rule pins no repository, id or owner",
        { repository: undefined, ref: "refs/heads/main" },
        [
          "rules.0",
          "must pin at least one of repository, repository_id, repository_owner, repository_owner_id",
        ],
      ],
      [
        "a prefix has an unknown placeholder",
        { prefixes: ["{repo_id}/"] },
        ["rules.0.prefixes.0", "{repo_id} is not a placeholder"],
      ],
      [
        "a placeholder is not followed by /",
        { prefixes: ["{repository_id}"] },
        ["rules.0.prefixes.0", "followed by /"],
      ],
      [
        "a placeholder outside prefixes (ref)",
        { ref: "refs/heads/{ref_name}" },
        ["rules.0.ref", "only in prefixes"],
      ],
      [
        "a placeholder outside prefixes (environment)",
        { environment: "{environment}" },
        ["rules.0.environment", "only in prefixes"],
      ],
    ] as [string, Record<string, unknown>, string[]][]
  ).map(([name, overrides, message]) => ({
    name: `POLICY: ${name}`,
    policy: {
      rules: [
        {
          repository: REPO,
          buckets: ["artifacts"],
          permissions: ["object-read-only"],
          max_ttl: "1h",
          ...overrides,
        },
      ],
    },
    message: ["POLICY is not a valid policy", ...message],
  })),
  {
    name: "SWEEP_LIMIT is not a whole number from 1 to 1000",
    vars: { SWEEP_LIMIT: "5000" },
    message: ['SWEEP_LIMIT is "5000"', "from 1 to 1000"],
  },
  { name: "POLICY is missing", vars: { POLICY: undefined }, message: ["POLICY is not set"] },
  {
    name: "the secret is missing",
    vars: { CLOUDFLARE_API_TOKEN: undefined },
    message: ["secret CLOUDFLARE_API_TOKEN is not set", "wrangler secret put CLOUDFLARE_API_TOKEN"],
  },
  { name: "AUDIENCE is missing", vars: { AUDIENCE: undefined }, message: ["AUDIENCE is not set"] },
  {
    name: "ACCOUNT_ID is bad",
    vars: { ACCOUNT_ID: "not-an-account" },
    message: ['ACCOUNT_ID is "not-an-account"'],
  },
  { name: "TOKEN_SCOPE is bad", vars: { TOKEN_SCOPE: "org" }, message: ["TOKEN_SCOPE", "account or user"] },
  {
    // The password is shown as ***: the test's message check and its own scan of the answer.
    name: "API_URL carries a user name and password",
    vars: { API_URL: "https://ops:pa55w0rd-xyz@api.cloudflare.com/client/v4" },
    message: ['API_URL is "https://***@api.cloudflare.com/client/v4"', "without user name, password"],
  },
];

describe("a misconfigured Worker → 500 server_misconfigured, no call, no crash", () => {
  it.each(CASES)("$name", async ({ policy, vars, message }) => {
    const worker = await startVendingWorker({
      emulator: emu.emulator,
      issuer: issuer.issuer,
      apiToken: emu.minter.value,
      policy: policy ?? POLICY,
      ...(vars ? { vars } : {}),
    });
    try {
      emu.emulator.resetCalls();
      const token = await issuer.sign(issuer.claims({ repository: REPO }));
      for (const route of ["/v1/mint", "/v1/revoke"]) {
        const answer = await worker.post(route, token, { bucket: "artifacts", "token-id": "0".repeat(32) });
        expect(answer.status, answer.text).toBe(500);
        expect(answer.body.error?.code).toBe("server_misconfigured");
        for (const fragment of message) expect(answer.body.error?.message).toContain(fragment);
        expect(answer.text).not.toContain(emu.minter.value);
        expect(answer.text).not.toContain("pa55w0rd");
      }
      expect(callSequence(emu.emulator)).toEqual([]);
      // The isolate is still alive and says the same again.
      const again = await worker.mint(token, { bucket: "artifacts" });
      expect(again.body.error?.code).toBe("server_misconfigured");
      expect(worker.logs.join("\n")).not.toContain(emu.minter.value);
    } finally {
      await worker.dispose();
    }
  });
});
