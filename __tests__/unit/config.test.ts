import { describe, expect, it } from "vitest";
import { parseConfig, parseDuration, type RawInputs, splitList } from "../../src/config.js";
import { InputError, inSurfaceWords } from "../../src/errors.js";
import { defaultS3Endpoint } from "../../src/terms.js";

const ACCOUNT = "0123456789abcdef0123456789abcdef";
const TOKEN = "cfat_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
const base: RawInputs = { "api-token": TOKEN, "account-id": ACCOUNT, bucket: "my-bucket" };

function problemsOf(raw: RawInputs, env = {}): string[] {
  try {
    parseConfig(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems.map((p) => inSurfaceWords(p.message, "action"));
  }
  throw new Error("expected an input error");
}

describe("parseConfig", () => {
  it("applies the defaults of action.yml", () => {
    const config = parseConfig(base);
    expect(config).toMatchObject({
      buckets: ["my-bucket"],
      permission: "object-read-only",
      mode: "token",
      ttlSeconds: 3600,
      jurisdiction: "default",
      tokenScope: "account",
      createBucket: false,
      waitTimeoutSeconds: 60,
      exportEnv: true,
      revoke: true,
      apiUrl: "https://api.cloudflare.com/client/v4",
      s3Endpoint: `https://${ACCOUNT}.r2.cloudflarestorage.com`,
      prefixes: [],
      objects: [],
    });
  });

  it("falls back to CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID", () => {
    const config = parseConfig(
      { bucket: "b-1" },
      { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_ACCOUNT_ID: ACCOUNT },
    );
    expect(config.apiToken).toBe(TOKEN);
    expect(config.accountId).toBe(ACCOUNT);
  });

  it("splits buckets on commas and newlines, keeping order and dropping duplicates", () => {
    expect(parseConfig({ ...base, bucket: " b-two ,\nb-one\n\nb-two, " }).buckets).toEqual([
      "b-two",
      "b-one",
    ]);
  });

  it("derives the jurisdiction endpoint and keeps an s3-endpoint override without its trailing slash", () => {
    expect(parseConfig({ ...base, jurisdiction: "eu" }).s3Endpoint).toBe(
      `https://${ACCOUNT}.eu.r2.cloudflarestorage.com`,
    );
    expect(parseConfig({ ...base, "s3-endpoint": "http://127.0.0.1:9000/" }).s3Endpoint).toBe(
      "http://127.0.0.1:9000",
    );
    expect(defaultS3Endpoint(ACCOUNT, "fedramp")).toBe(`https://${ACCOUNT}.fedramp.r2.cloudflarestorage.com`);
  });

  it.each([
    ["90", 90],
    ["90s", 90],
    ["15m", 900],
    ["1h", 3600],
    ["7d", 604800],
  ])("reads ttl %s as %i seconds", (ttl, seconds) => {
    expect(parseConfig({ ...base, ttl }).ttlSeconds).toBe(seconds);
  });

  it.each([
    ["bucket", "Bad_Bucket"],
    ["bucket", "ab"],
    ["bucket", "a".repeat(64)],
    ["bucket", "my.bucket"],
    ["bucket", "my/bucket"],
    ["bucket", "-bucket"],
    ["account-id", "0123456789ABCDEF0123456789ABCDEF"],
    ["account-id", "0123456789abcdef"],
    ["ttl", "0"],
    ["ttl", "-1"],
    ["ttl", "1e9"],
    ["ttl", "1h30x"],
    ["ttl", "59"],
    ["ttl", "8d"],
    ["permission", "admin"],
    ["mode", "session"],
    ["jurisdiction", "EU"],
    ["token-scope", "org"],
    ["wait-timeout", "-5"],
    ["export-env", "yes"],
    ["revoke", "maybe"],
    ["location-hint", "mars"],
    ["api-url", "ftp://example.com"],
    ["s3-endpoint", "not a url"],
    ["parent-access-key-id", "xyz"],
    ["token-name", "x".repeat(112)],
  ])("refuses %s = %j, naming the input and quoting the value", (input, value) => {
    const messages = problemsOf({ ...base, [input]: value });
    expect(messages.join(" ")).toContain(`Input ${input}`);
    expect(messages.join(" ")).toContain(
      JSON.stringify(value.includes("\n") ? value : value.trim()).slice(1, 20),
    );
  });

  it("says that secrets are not passed to forks when the token is missing", () => {
    const [message] = problemsOf({ bucket: "b-1", "account-id": ACCOUNT });
    expect(message).toMatch(/api-token is empty and CLOUDFLARE_API_TOKEN is not set/);
    expect(message).toMatch(/forks or by Dependabot/);
  });

  it("refuses a token with a newline inside without quoting it", () => {
    const secret = "cfat_first_half\nsecond_half_of_token";
    const messages = problemsOf({ ...base, "api-token": secret });
    expect(messages.join(" ")).toMatch(/api-token contains whitespace or control characters/);
    expect(messages.join(" ")).not.toContain("first_half");
  });

  it.each(["api-url", "s3-endpoint", "vending-url"])(
    "refuses a user name and password in %s without printing the password",
    (input) => {
      const { "api-token": _token, "account-id": _account, ...keyless } = base;
      const inputs = input === "vending-url" ? keyless : base;
      const messages = problemsOf({ ...inputs, [input]: "https://deploy:pa55w0rd-xyz@example.com/v4" });
      expect(messages.join(" ")).toContain(`Input ${input} is "https://***@example.com/v4"`);
      expect(messages.join(" ")).toMatch(/without user name, password, query or fragment/);
      expect(messages.join(" ")).not.toContain("pa55w0rd");
    },
  );

  it("reports every problem at once", () => {
    expect(problemsOf({ ...base, bucket: "Bad", ttl: "x", jurisdiction: "mars" })).toHaveLength(3);
  });

  it("accepts narrowing, admin scopes and temporary mode on one bucket", () => {
    expect(parseConfig({ ...base, prefixes: "logs/,\ntmp/", objects: "a.txt" })).toMatchObject({
      prefixes: ["logs/", "tmp/"],
      objects: ["a.txt"],
    });
    expect(parseConfig({ ...base, permission: "admin-read-write" }).permission).toBe("admin-read-write");
    expect(
      parseConfig({ ...base, mode: "temporary", "parent-access-key-id": "0123456789abcdef0123456789abcdef" }),
    ).toMatchObject({ mode: "temporary", parentAccessKeyId: "0123456789abcdef0123456789abcdef" });
  });

  it.each([
    [{ mode: "temporary", bucket: "a-1,b-2" }, ["bucket", "mode"]],
    [{ bucket: "a-1,b-2", prefixes: "logs/" }, ["bucket", "prefixes"]],
    [{ bucket: "a-1,b-2", permission: "admin-read-write" }, ["bucket", "permission"]],
    [{ "parent-access-key-id": "0123456789abcdef0123456789abcdef" }, ["parent-access-key-id", "mode"]],
    [{ "location-hint": "weur" }, ["location-hint", "create-bucket"]],
  ])("names every input of a contradiction: %j", (inputs, names) => {
    const text = problemsOf({ ...base, ...inputs }).join(" ");
    for (const name of names) expect(text).toContain(name);
  });
});

describe("keyless mode (vending-url)", () => {
  const keyless: RawInputs = { bucket: "my-bucket", "vending-url": "https://vend.example.workers.dev/r2/" };

  it("needs no api-token or account-id and defaults the audience to the URL's origin", () => {
    const config = parseConfig(keyless, { CLOUDFLARE_API_TOKEN: TOKEN });
    expect(config).toMatchObject({
      vendingUrl: "https://vend.example.workers.dev/r2",
      audience: "https://vend.example.workers.dev",
      apiToken: "",
      s3Endpoint: "",
    });
    expect(parseConfig({ ...keyless, audience: "r2-vending" }).audience).toBe("r2-vending");
  });

  it.each([
    ["api-token", TOKEN],
    ["account-id", ACCOUNT],
    ["mode", "temporary"],
    ["token-scope", "user"],
    ["create-bucket", "true"],
    ["token-name", "mine"],
    ["api-url", "https://api.example.com/client/v4"],
  ])("refuses %s, which the Worker decides, naming both inputs and never quoting a token", (input, value) => {
    const text = problemsOf({ ...keyless, [input]: value }).join(" ");
    expect(text).toContain(`Input ${input} does not apply with vending-url`);
    expect(text).not.toContain(TOKEN);
  });

  it("refuses an audience without vending-url", () => {
    expect(problemsOf({ ...base, audience: "x" }).join(" ")).toMatch(
      /audience applies only with vending-url/,
    );
  });
});

describe("splitList and parseDuration", () => {
  it("ignores empty entries", () => {
    expect(splitList(",\n , a ,,b\n")).toEqual(["a", "b"]);
  });
  it("rejects fractions, exponents and unknown units", () => {
    for (const value of ["1.5h", "1e3", "10w", "", "h"]) expect(parseDuration(value)).toBeUndefined();
  });
});
