// The emulator's answers against Cloudflare's published OpenAPI schemas (fixtures/SOURCE.md says
// where the subset comes from).
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import openapi from "../fixtures/cloudflare-openapi-subset.json" with { type: "json" };
import { useEmulator } from "../helpers/use-emulator.js";
import { bucketPolicy, client, ITEM_READ, ITEM_WRITE, inAnHour } from "./support.js";

const emu = useEmulator({ minters: [], buckets: ["contract"], leftovers: "keep" });
const api = client(() => emu.emulator);

describe("OpenAPI contract (fixtures/cloudflare-openapi-subset.json)", () => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(openapi as object, "cf");
  const pointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const responseSchema = (path: string, method: string, status: string) =>
    `cf#/paths/${pointer(path)}/${method}/responses/${status}/content/application~1json/schema`;
  function expectValid(ref: string, body: unknown) {
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    const ok = validate(body);
    expect(ok, `${ref}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  }
  // The IAM 4XX schemas are allOf(success schema, failure schema), which nothing can satisfy
  // (success must be both true and false), so IAM failures are checked against the failure part.
  const IAM_FAILURE = "cf#/components/schemas/iam_api-response-common-failure";

  it("the validator is not vacuous", () => {
    const validate = ajv.compile({ $ref: responseSchema("/user/tokens/verify", "get", "200") });
    expect(validate({ success: true, errors: [], messages: [], result: { id: "x" } })).toBe(false);
    expect(validate({ success: true, errors: [], messages: [], result: { id: "x", status: "active" } })).toBe(
      true,
    );
    expect(ajv.validate(IAM_FAILURE, { success: false, errors: [], messages: [], result: null })).toBe(true);
    expect(
      ajv.validate(IAM_FAILURE, { success: false, errors: [{ code: 5 }], messages: [], result: null }),
    ).toBe(false);
  });

  it("user token responses match the schema", async () => {
    const m = emu.emulator.seedToken({ scope: "user", preset: "user-minter" });
    const created = await api("POST", "/user/tokens", m.value, {
      name: "contract",
      policies: [bucketPolicy(emu.emulator, ITEM_WRITE, "contract")],
      expires_on: inAnHour(),
      not_before: "2020-01-01T00:00:00Z",
    });
    expectValid(responseSchema("/user/tokens", "post", "200"), created.body);
    const id = created.body.result.id;
    expectValid(
      responseSchema("/user/tokens", "get", "200"),
      (await api("GET", "/user/tokens", m.value)).body,
    );
    expectValid(
      responseSchema("/user/tokens/{token_id}", "get", "200"),
      (await api("GET", `/user/tokens/${id}`, m.value)).body,
    );
    const updated = await api("PUT", `/user/tokens/${id}`, m.value, {
      name: "c2",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "contract")],
    });
    expectValid(responseSchema("/user/tokens/{token_id}", "put", "200"), updated.body);
    const rolled = await api("PUT", `/user/tokens/${id}/value`, m.value, {});
    expectValid(responseSchema("/user/tokens/{token_id}/value", "put", "200"), rolled.body);
    expectValid(
      responseSchema("/user/tokens/verify", "get", "200"),
      (await api("GET", "/user/tokens/verify", rolled.body.result)).body,
    );
    expectValid(
      responseSchema("/user/tokens/permission_groups", "get", "200"),
      (await api("GET", "/user/tokens/permission_groups", m.value)).body,
    );
    expectValid(
      responseSchema("/user/tokens/{token_id}", "delete", "200"),
      (await api("DELETE", `/user/tokens/${id}`, m.value)).body,
    );
    expectValid(IAM_FAILURE, (await api("GET", "/user/tokens/verify", "cfut_unknown")).body);
    expectValid(
      IAM_FAILURE,
      (await api("GET", "/user/tokens/verify", undefined, undefined, { authorization: "Basic x" })).body,
    );
    expectValid(IAM_FAILURE, (await api("POST", "/user/tokens", m.value, { name: "" })).body);
  });

  it("bucket and temporary-credential responses match the schema", async () => {
    const m = emu.emulator.seedToken({ scope: "account", preset: "minter" });
    const buckets = "/accounts/{account_id}/r2/buckets";
    const bucket = "/accounts/{account_id}/r2/buckets/{bucket_name}";
    const base = `/accounts/${emu.emulator.accountId}/r2/buckets`;
    expectValid(
      responseSchema(buckets, "post", "200"),
      (await api("POST", base, m.value, { name: "made", locationHint: "weur" })).body,
    );
    expectValid(
      responseSchema(buckets, "post", "4XX"),
      (await api("POST", base, m.value, { name: "made" })).body,
    );
    expectValid(responseSchema(bucket, "get", "200"), (await api("GET", `${base}/made`, m.value)).body);
    expectValid(responseSchema(bucket, "get", "4XX"), (await api("GET", `${base}/nothing`, m.value)).body);
    expectValid(responseSchema(bucket, "delete", "200"), (await api("DELETE", `${base}/made`, m.value)).body);
    const temp = "/accounts/{account_id}/r2/temp-access-credentials";
    const tpath = `/accounts/${emu.emulator.accountId}/r2/temp-access-credentials`;
    const req = {
      bucket: "contract",
      parentAccessKeyId: m.id,
      permission: "object-read-only",
      ttlSeconds: 60,
    };
    expectValid(responseSchema(temp, "post", "200"), (await api("POST", tpath, m.value, req)).body);
    expectValid(
      responseSchema(temp, "post", "4XX"),
      (await api("POST", tpath, m.value, { ...req, ttlSeconds: 0 })).body,
    );
    // Our request bodies are valid requests per the schema, too.
    expectValid(`cf#/components/schemas/r2_temp_access_creds_request`, req);
  });
});
