// The emulator's bucket CORS routes (`…/r2/buckets/{b}/cors`): the SDK's camelCase body, who may
// call, jurisdictions, and the rules as S3's GetBucketCors shows them.
import { GetBucketCorsCommand } from "@aws-sdk/client-s3";
import { AwsClient } from "aws4fetch";
import { beforeEach, describe, expect, it } from "vitest";
import { useEmulator } from "../helpers/use-emulator.js";
import { accountPolicy, client, STORAGE_READ, s3For, s3Status, tokenCreds } from "./support.js";

const emu = useEmulator({ buckets: ["site", ["site-eu", "eu"]], leftovers: "keep" });
const api = client(() => emu.emulator);
const cors = (bucket: string) => `/accounts/${emu.emulator.accountId}/r2/buckets/${bucket}/cors`;

const RULES = [
  {
    id: "pages-uploads",
    allowed: {
      origins: ["https://my-site.pages.dev", "http://localhost:5173"],
      methods: ["GET", "PUT", "HEAD"],
      headers: ["content-type"],
    },
    exposeHeaders: ["ETag"],
    maxAgeSeconds: 3600,
  },
  { allowed: { origins: ["*"], methods: ["GET"] } },
];

describe("bucket CORS over the REST API", () => {
  it("answers 404/10059 until a policy is set, then the rules as they were put; DELETE clears them", async () => {
    const unset = await api("GET", cors("site"), emu.minter.value);
    expect([unset.status, unset.body.errors]).toEqual([
      404,
      [{ code: 10059, message: "The CORS configuration does not exist." }],
    ]);
    const put = await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    expect([put.status, put.body.success]).toEqual([200, true]);
    const got = await api("GET", cors("site"), emu.minter.value);
    expect(got.body.result).toEqual({ rules: RULES });
    expect(got.body.messages).toEqual([]);
    // PUT replaces the whole policy.
    await api("PUT", cors("site"), emu.minter.value, { rules: [RULES[1]] });
    expect((await api("GET", cors("site"), emu.minter.value)).body.result).toEqual({ rules: [RULES[1]] });
    expect((await api("DELETE", cors("site"), emu.minter.value)).status).toBe(200);
    expect((await api("GET", cors("site"), emu.minter.value)).status).toBe(404);
    // Deleting nothing is not an error.
    expect((await api("DELETE", cors("site"), emu.minter.value)).status).toBe(200);
  });

  it.each([
    ["the S3 shape", [{ AllowedOrigins: ["*"], AllowedMethods: ["GET"] }]],
    ["rules with S3 names", { rules: [{ AllowedOrigins: ["*"], AllowedMethods: ["GET"] }] }],
    ["an unknown method", { rules: [{ allowed: { origins: ["*"], methods: ["PATCH"] } }] }],
    ["no origins", { rules: [{ allowed: { origins: [], methods: ["GET"] } }] }],
    [
      "maxAgeSeconds over a day",
      { rules: [{ allowed: { origins: ["*"], methods: ["GET"] }, maxAgeSeconds: 86401 }] },
    ],
  ])("refuses %s with 400/10040", async (_label, body) => {
    const res = await api("PUT", cors("site"), emu.minter.value, body);
    expect([res.status, res.body.errors[0]?.code]).toEqual([400, 10040]);
  });

  it("is account-level R2 configuration: Storage Read reads, Storage Write changes", async () => {
    const reader = emu.emulator.seedToken({
      scope: "account",
      policies: [accountPolicy(emu.emulator, STORAGE_READ)],
    });
    const none = emu.emulator.seedToken({ scope: "account", preset: "no-permissions" });
    expect((await api("GET", cors("site"), reader.value)).status).toBe(404);
    for (const method of ["PUT", "DELETE"]) {
      const res = await api(
        method,
        cors("site"),
        reader.value,
        method === "PUT" ? { rules: RULES } : undefined,
      );
      expect([res.status, res.body.errors[0]?.code]).toEqual([403, 10000]);
    }
    expect((await api("GET", cors("site"), none.value)).body.errors[0]?.code).toBe(10000);
  });

  it("takes cf-r2-jurisdiction and answers 10006 for a bucket it cannot see", async () => {
    const missing = await api("GET", cors("site-eu"), emu.minter.value);
    expect([missing.status, missing.body.errors[0]?.code]).toEqual([404, 10006]);
    const eu = { "cf-r2-jurisdiction": "eu" };
    expect((await api("PUT", cors("site-eu"), emu.minter.value, { rules: RULES }, eu)).status).toBe(200);
    expect((await api("GET", cors("site-eu"), emu.minter.value, undefined, eu)).body.result.rules).toEqual(
      RULES,
    );
    expect((await api("GET", cors("no-such-bucket"), emu.minter.value)).body.errors[0]?.code).toBe(10006);
  });

  it("records the calls under their route names", async () => {
    await api("GET", cors("site"), emu.minter.value);
    await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    await api("DELETE", cors("site"), emu.minter.value);
    expect(emu.emulator.calls.map((c) => c.route)).toEqual([
      "r2.buckets.cors.get",
      "r2.buckets.cors.put",
      "r2.buckets.cors.delete",
    ]);
  });

  it("S3's GetBucketCors shows the rules in S3's names", async () => {
    const s3 = s3For(emu.emulator, tokenCreds(emu.minter));
    expect(await s3Status(s3.send(new GetBucketCorsCommand({ Bucket: "site" })))).toEqual({
      status: 404,
      name: "NoSuchCORSConfiguration",
    });
    await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    const got = await s3.send(new GetBucketCorsCommand({ Bucket: "site" }));
    expect(got.CORSRules).toEqual([
      {
        ID: "pages-uploads",
        AllowedOrigins: ["https://my-site.pages.dev", "http://localhost:5173"],
        AllowedMethods: ["GET", "PUT", "HEAD"],
        AllowedHeaders: ["content-type"],
        ExposeHeaders: ["ETag"],
        MaxAgeSeconds: 3600,
      },
      { AllowedOrigins: ["*"], AllowedMethods: ["GET"] },
    ]);
  });
});

describe("bucket CORS at the S3 endpoint, as a browser meets it", () => {
  const ORIGIN = "http://localhost:5173";
  const preflight = (bucket: string, headers: Record<string, string>, jurisdiction?: "eu") =>
    fetch(`${emu.emulator.s3Endpoint(jurisdiction)}/${bucket}/uploads/photo.jpg`, {
      method: "OPTIONS",
      headers,
    });
  const asks = {
    origin: ORIGIN,
    "access-control-request-method": "PUT",
    "access-control-request-headers": "Content-Type",
  };
  const corsHeaders = (res: Response) =>
    Object.fromEntries([...res.headers].filter(([name]) => name.startsWith("access-control-")));

  beforeEach(async () => {
    await api("DELETE", cors("site"), emu.minter.value);
    await api("DELETE", cors("site-eu"), emu.minter.value, undefined, { "cf-r2-jurisdiction": "eu" });
    emu.emulator.resetCalls();
  });

  it("refuses a preflight until a rule allows the origin, then answers it from the rule", async () => {
    const before = await preflight("site", asks);
    expect([before.status, corsHeaders(before)]).toEqual([403, {}]);
    expect(await before.text()).toContain("<Code>AccessDenied</Code>");

    await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    const after = await preflight("site", asks);
    expect([after.status, corsHeaders(after)]).toEqual([
      200,
      {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "GET, PUT, HEAD",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "3600",
        "access-control-expose-headers": "ETag",
      },
    ]);
    expect(emu.emulator.s3Calls.map((c) => [c.method, c.status])).toEqual([
      ["OPTIONS", 403],
      ["OPTIONS", 200],
    ]);
  });

  it("refuses what no rule allows: another origin, a method, a header; a * rule allows any origin for its methods", async () => {
    await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    const cases: [Record<string, string>, number][] = [
      [{ ...asks, origin: "https://evil.example" }, 403],
      [{ ...asks, "access-control-request-method": "DELETE" }, 403],
      [{ ...asks, "access-control-request-headers": "content-type, x-amz-meta-owner" }, 403],
      [{ origin: "https://anyone.example", "access-control-request-method": "GET" }, 200],
      [{ origin: ORIGIN }, 400],
      [{ "access-control-request-method": "PUT" }, 400],
    ];
    for (const [headers, status] of cases) {
      expect((await preflight("site", headers)).status, JSON.stringify(headers)).toBe(status);
    }
    const any = await preflight("site", {
      origin: "https://anyone.example",
      "access-control-request-method": "GET",
    });
    expect(any.headers.get("access-control-allow-origin")).toBe("*");
    expect((await preflight("no-such-bucket", asks)).status).toBe(404);
  });

  it("adds Access-Control-Allow-Origin and the exposed headers to requests from an allowed origin, errors included", async () => {
    await api("PUT", cors("site"), emu.minter.value, { rules: RULES });
    const s3 = new AwsClient({ ...tokenCreds(emu.minter), service: "s3", region: "auto", retries: 0 });
    const url = `${emu.emulator.s3Endpoint()}/site/hello.txt`;
    const put = await s3.fetch(url, { method: "PUT", body: "hi", headers: { origin: ORIGIN } });
    expect([put.status, corsHeaders(put)]).toEqual([
      200,
      { "access-control-allow-origin": ORIGIN, "access-control-expose-headers": "ETag" },
    ]);
    const missing = await s3.fetch(`${url}.missing`, { headers: { origin: ORIGIN } });
    expect([missing.status, missing.headers.get("access-control-allow-origin")]).toEqual([404, ORIGIN]);
    // The * rule allows any origin, but only to GET.
    const stranger = await s3.fetch(url, { method: "HEAD", headers: { origin: "https://evil.example" } });
    expect([stranger.status, corsHeaders(stranger)]).toEqual([200, {}]);
    const noOrigin = await s3.fetch(url);
    expect(corsHeaders(noOrigin)).toEqual({});
  });

  it("reads the rules of the bucket in the listener's jurisdiction", async () => {
    await api("PUT", cors("site-eu"), emu.minter.value, { rules: RULES }, { "cf-r2-jurisdiction": "eu" });
    expect((await preflight("site-eu", asks, "eu")).status).toBe(200);
    expect((await preflight("site", asks)).status).toBe(403);
  });
});
