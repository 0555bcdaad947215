/**
 * The JSON bodies of /v1/mint and /v1/revoke. The mint body mirrors the action's minting inputs with the
 * same names; lists may be strings (comma- or newline-separated, as in a workflow) or arrays. The values
 * are then validated by the core's parseConfig, so the Worker and the action accept exactly the same.
 */
import { z } from "zod";
import { isHex32 } from "../../src/checks.js";
import type { RawInputs } from "../../src/config.js";
import { HttpError } from "./errors.js";

/** Bodies are a few hundred bytes; anything far larger is refused before parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

export const MINT_FIELDS = [
  "bucket",
  "permission",
  "prefixes",
  "objects",
  "ttl",
  "jurisdiction",
  "mode",
] as const;

const listField = z.union([z.string(), z.array(z.string())]).nullish();
const textField = z.string().nullish();

const mintBody = z
  .object({
    bucket: listField,
    permission: textField,
    prefixes: listField,
    objects: listField,
    ttl: z.union([z.string(), z.number().int().nonnegative()]).nullish(),
    jurisdiction: textField,
    /** Accepted only as "token" (or empty): the Worker mints revocable child tokens, never bare temporary credentials. */
    mode: textField,
  })
  .strict();

const revokeBody = z.object({ "token-id": z.string() }).strict();

export interface MintRequest {
  raw: RawInputs;
  /** The ttl as the caller wrote it, or undefined when the request named none. */
  ttlText: string | undefined;
}

async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    throw new HttpError(413, "payload_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) {
    throw new HttpError(413, "payload_too_large", `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  if (text.trim() === "") throw new HttpError(400, "bad_request", "The body is empty: send a JSON object.");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad_request", "The body is not valid JSON: send a JSON object.");
  }
}

function explain(error: z.ZodError, fields: readonly string[]): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return `The field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")} ${issue.keys.length > 1 ? "are" : "is"} not accepted; the body may have ${fields.join(", ")}.`;
      }
      const field = issue.path.map(String).join(".");
      if (field === "") return "The body must be a JSON object.";
      return `Field ${field} has the wrong type (${issue.message}).`;
    })
    .join(" ");
}

const joined = (value: string | string[] | null | undefined): string | undefined =>
  value === null || value === undefined ? undefined : Array.isArray(value) ? value.join("\n") : value;

export async function readMintRequest(request: Request): Promise<MintRequest> {
  const parsed = mintBody.safeParse(await readJson(request));
  if (!parsed.success) throw new HttpError(400, "bad_request", explain(parsed.error, MINT_FIELDS));
  const body = parsed.data;
  const mode = (body.mode ?? "").trim();
  if (mode !== "" && mode !== "token") {
    throw new HttpError(
      400,
      "bad_request",
      `Field mode is ${JSON.stringify(body.mode)}: the vending Worker mints only revocable child tokens (mode token), narrowed with prefixes or objects where asked.`,
    );
  }
  const ttl = body.ttl === null || body.ttl === undefined ? undefined : String(body.ttl).trim();
  const raw: RawInputs = {};
  const set = (name: keyof RawInputs, value: string | undefined) => {
    if (value !== undefined) raw[name] = value;
  };
  set("bucket", joined(body.bucket));
  set("permission", body.permission ?? undefined);
  set("prefixes", joined(body.prefixes));
  set("objects", joined(body.objects));
  set("ttl", ttl);
  set("jurisdiction", body.jurisdiction ?? undefined);
  return { raw, ttlText: ttl === undefined || ttl === "" ? undefined : ttl };
}

export async function readRevokeRequest(request: Request): Promise<string> {
  const parsed = revokeBody.safeParse(await readJson(request));
  if (!parsed.success) throw new HttpError(400, "bad_request", explain(parsed.error, ["token-id"]));
  const tokenId = parsed.data["token-id"].trim();
  if (!isHex32(tokenId)) {
    throw new HttpError(
      400,
      "bad_request",
      `Field token-id is ${JSON.stringify(parsed.data["token-id"])}, which is not a token id: use the 32 lowercase hex characters of the mint's token-id.`,
    );
  }
  return tokenId;
}
