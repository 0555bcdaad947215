import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hintFor } from "../../src/cloudflare/hints.js";
import { parseRetryAfter, retryDelayMs } from "../../src/cloudflare/retry.js";
import { randomHex, sha256Hex } from "../../src/crypto.js";
import { inSurfaceWords } from "../../src/errors.js";
import { objectUrl, pollIntervalMs } from "../../src/readiness.js";
import { formatDuration, wholeSecondsIso } from "../../src/time.js";

describe("derivation", () => {
  it("derives the secret access key as the lowercase hex sha256 of the whole token value", async () => {
    const value = "cfat_Zx9AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a1b2";
    expect(await sha256Hex(value)).toBe(createHash("sha256").update(value).digest("hex"));
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("formats expires_on in whole seconds", () => {
    expect(wholeSecondsIso(Date.UTC(2026, 10, 27, 23, 30, 0, 999))).toBe("2026-11-27T23:30:00Z");
  });

  it("makes random hex ids of the requested length", () => {
    expect(randomHex(4)).toMatch(/^[0-9a-f]{8}$/);
    expect(randomHex(4)).not.toBe(randomHex(4));
  });
});

describe("retry timing", () => {
  const policy = {
    maxAttempts: 5,
    maxDirectedAttempts: 30,
    baseDelayMs: 500,
    maxDelayMs: 4000,
    totalBudgetMs: 60_000,
  };

  it("uses full jitter under an exponential ceiling", () => {
    expect(retryDelayMs(policy, 1, () => 0.999)).toBe(499);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(1000);
    expect(retryDelayMs(policy, 10, () => 0.999)).toBe(3996);
    expect(retryDelayMs(policy, 2, () => 0)).toBe(0);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.UTC(2026, 10, 28, 0, 0, 0);
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Sat, 28 Nov 2026 00:00:00 GMT", now + 1000)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("readiness polling", () => {
  it("polls every 250 ms for 10 s, then backs off to at most 2 s", () => {
    expect(pollIntervalMs(0)).toBe(250);
    expect(pollIntervalMs(9_999)).toBe(250);
    expect(pollIntervalMs(10_000)).toBe(500);
    expect(pollIntervalMs(16_000)).toBe(1000);
    expect(pollIntervalMs(59_000)).toBe(2000);
  });

  it("builds path-style URLs with encoded key segments", () => {
    expect(objectUrl("http://h:1/", "b-1", "dir/a b+c.txt")).toBe("http://h:1/b-1/dir/a%20b%2Bc.txt");
    // RFC 3986 as SigV4 canonicalises it: what is sent is what was signed.
    expect(objectUrl("http://h:1", "b-1", "run(1)/it's*!.txt")).toBe(
      "http://h:1/b-1/run%281%29/it%27s%2A%21.txt",
    );
  });
});

describe("messages in each surface's words", () => {
  it("fills every placeholder, including names with digits", () => {
    const text =
      "raise {name:wait-timeout}, check {name:s3-endpoint} and {name:api-token}, or set {set:jurisdiction=eu}";
    expect(inSurfaceWords(text, "action")).toBe(
      "raise wait-timeout, check s3-endpoint and api-token, or set jurisdiction: eu",
    );
    expect(inSurfaceWords(text, "cli")).toBe(
      "raise --wait-timeout, check --s3-endpoint and CLOUDFLARE_API_TOKEN, or set --jurisdiction eu",
    );
  });

  it("speaks of inputs in the action and of flags and variables in the CLI", () => {
    // Workflow expressions (${{ … }}) are text here, not template placeholders.
    const expr = (inner: string) => `$\{{ ${inner} }}`;
    const cases: [string, string, string][] = [
      ["{input:ttl} is bad.", "Input ttl is bad.", "Flag --ttl is bad."],
      ["{input:api-token} is bad.", "Input api-token is bad.", "CLOUDFLARE_API_TOKEN is bad."],
      [
        "{inputs:bucket,prefixes,permission} conflict.",
        "Inputs bucket, prefixes and permission conflict.",
        "Flags --bucket, --prefixes and --permission conflict.",
      ],
      [
        "{missing:account-id}.",
        "Input account-id is empty and CLOUDFLARE_ACCOUNT_ID is not set.",
        "Flag --account-id is missing and CLOUDFLARE_ACCOUNT_ID is not set.",
      ],
      [
        "{missing:api-token}.",
        "Input api-token is empty and CLOUDFLARE_API_TOKEN is not set.",
        "CLOUDFLARE_API_TOKEN is not set.",
      ],
      [
        "{fromenv:account-id} is bad.",
        "Input account-id is empty, so CLOUDFLARE_ACCOUNT_ID was used; that value is bad.",
        "CLOUDFLARE_ACCOUNT_ID is bad.",
      ],
      [
        "e.g. {example:api-token}.",
        `e.g. api-token: ${expr("secrets.CLOUDFLARE_API_TOKEN")}.`,
        "e.g. export CLOUDFLARE_API_TOKEN=<value>.",
      ],
      ["Set {set:create-bucket=true}.", "Set create-bucket: true.", "Set --create-bucket."],
      ["Empty.{action-only: Forks get no secrets.}", "Empty. Forks get no secrets.", "Empty."],
      [
        `{unknown:x} and ${expr("x")} stay`,
        `{unknown:x} and ${expr("x")} stay`,
        `{unknown:x} and ${expr("x")} stay`,
      ],
    ];
    for (const [text, action, cli] of cases) {
      expect(inSurfaceWords(text, "action")).toBe(action);
      expect(inSurfaceWords(text, "cli")).toBe(cli);
    }
  });

  it("leaves no placeholder in any hint Cloudflare errors can carry", () => {
    for (const code of [1000, 9109, 10000, 10006, 10042, 971]) {
      for (const surface of ["action", "cli"] as const) {
        expect(inSurfaceWords(hintFor(400, [code]) ?? "", surface)).not.toMatch(/\{(name|set):/);
      }
    }
  });

  it("formats a ttl in the largest whole unit for the vending Worker", () => {
    expect([3600, 900, 90, 172800, 61].map(formatDuration)).toEqual(["1h", "15m", "90s", "2d", "61s"]);
  });
});
