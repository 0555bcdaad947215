// SigV4 verification for the S3 endpoint. We never re-implement the signing algorithm: the
// signature is recomputed with @smithy/signature-v4 from the request as received (method, raw
// path, query, the signed headers and the payload hash the client declared) and compared.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** node:crypto adapter with the Hash interface the signer expects (plain hash, or HMAC when keyed). */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export type Query = Record<string, string | string[]>;

interface ParsedAuth {
  form: "header" | "query";
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** x-amz-date / X-Amz-Date: YYYYMMDDTHHMMSSZ. */
  amzDate: string;
  sessionToken?: string;
  /** Presigned URLs only. */
  expiresSeconds?: number;
}

export class AuthParseError extends Error {}

const HEADER_AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]*)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;._-]+), ?Signature=([0-9a-f]{64})$/;
const CREDENTIAL = /^([^/]+)\/(\d{8})\/([^/]*)\/([^/]+)\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The first of a repeated header or query parameter. */
export function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Decodes a raw query string. By default a "+" is kept literally (SigV4 clients send %20); with
 * `plus: "space"` it is read as a space first.
 */
export function parseQuery(search: string, plus: "literal" | "space" = "literal"): Query {
  const decode = (s: string) => safeDecode(plus === "space" ? s.replace(/\+/g, " ") : s);
  // No prototype: a query key such as constructor or __proto__ is a key like any other.
  const out: Query = Object.create(null);
  for (const part of search.replace(/^\?/, "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? "" : part.slice(eq + 1);
    const key = decode(rawKey);
    const value = decode(rawValue);
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** decodeURIComponent, or the input unchanged where it is not valid percent-encoding. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Returns undefined for an anonymous request; throws AuthParseError for a malformed one. */
export function parseAuth(headers: IncomingHttpHeaders, query: Query): ParsedAuth | undefined {
  const header = headers.authorization;
  if (header) {
    const m = HEADER_AUTH.exec(header.trim());
    if (!m) throw new AuthParseError("The authorization header is malformed");
    const amzDate = first(headers["x-amz-date"]);
    if (!amzDate) throw new AuthParseError("Missing x-amz-date header");
    const sessionToken = first(headers["x-amz-security-token"]);
    return {
      form: "header",
      accessKeyId: m[1] ?? "",
      scopeDate: m[2] ?? "",
      region: m[3] ?? "",
      service: m[4] ?? "",
      signedHeaders: (m[5] ?? "").split(";"),
      signature: m[6] ?? "",
      amzDate,
      ...(sessionToken ? { sessionToken } : {}),
    };
  }
  const signature = first(query["X-Amz-Signature"]);
  if (signature === undefined) return undefined;
  if (first(query["X-Amz-Algorithm"]) !== "AWS4-HMAC-SHA256")
    throw new AuthParseError("Unsupported X-Amz-Algorithm");
  const m = CREDENTIAL.exec(first(query["X-Amz-Credential"]) ?? "");
  const amzDate = first(query["X-Amz-Date"]);
  const signedHeaders = first(query["X-Amz-SignedHeaders"]);
  const expires = Number(first(query["X-Amz-Expires"]));
  if (!m || !amzDate || !signedHeaders || !Number.isInteger(expires) || expires < 1 || expires > 604800) {
    throw new AuthParseError("Malformed presigned URL query parameters");
  }
  const sessionToken = first(query["X-Amz-Security-Token"]);
  return {
    form: "query",
    accessKeyId: m[1] ?? "",
    scopeDate: m[2] ?? "",
    region: m[3] ?? "",
    service: m[4] ?? "",
    signedHeaders: signedHeaders.split(";"),
    signature,
    amzDate,
    expiresSeconds: expires,
    ...(sessionToken ? { sessionToken } : {}),
  };
}

export function parseAmzDate(amzDate: string): number | undefined {
  const m = AMZ_DATE.exec(amzDate);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Exposes the library's canonical-request and string-to-sign builders to a verifier. */
class Verifier extends SignatureV4 {
  async expected(input: {
    method: string;
    path: string;
    query: Query;
    canonicalHeaders: Record<string, string>;
    payloadHash: string;
    amzDate: string;
    scope: string;
    region: string;
    service: string;
    signingDate: Date;
  }): Promise<string> {
    const request = {
      method: input.method,
      protocol: "http:",
      hostname: "",
      path: input.path,
      query: input.query,
      headers: {},
    };
    const canonical = this.createCanonicalRequest(request, input.canonicalHeaders, input.payloadHash);
    const stringToSign = await this.createStringToSign(
      input.amzDate,
      input.scope,
      canonical,
      "AWS4-HMAC-SHA256",
    );
    return this.sign(stringToSign, {
      signingDate: input.signingDate,
      signingRegion: input.region,
      signingService: input.service,
    });
  }
}

interface VerifyInput {
  method: string;
  /** The path exactly as received (still URI-encoded). */
  rawPath: string;
  query: Query;
  headers: IncomingHttpHeaders;
  /** For header auth: x-amz-content-sha256 as sent. */
  payloadHash: string;
  auth: ParsedAuth;
  secretAccessKey: string;
}

export async function signatureMatches(input: VerifyInput): Promise<boolean> {
  const { auth } = input;
  const signingDate = parseAmzDate(auth.amzDate);
  if (signingDate === undefined) return false;
  // The signing key is derived from the scope date; it must be the request date's day.
  if (auth.amzDate.slice(0, 8) !== auth.scopeDate) return false;
  const canonicalHeaders: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const raw = input.headers[name];
    if (raw === undefined) return false;
    const value = Array.isArray(raw) ? raw.join(",") : raw;
    canonicalHeaders[name] = value
      .replace(/[\r\n]/g, " ")
      .replace(/[ \t]+/g, " ")
      .trim();
  }
  const verifier = new Verifier({
    service: auth.service,
    region: auth.region,
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey: input.secretAccessKey },
    sha256: NodeSha256,
    // S3 signs the path as sent, without normalising or double-encoding it.
    uriEscapePath: false,
  });
  const expected = await verifier.expected({
    method: input.method,
    path: input.rawPath,
    query: input.query,
    canonicalHeaders,
    payloadHash: input.payloadHash,
    amzDate: auth.amzDate,
    scope: `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`,
    region: auth.region,
    service: auth.service,
    signingDate: new Date(signingDate),
  });
  const a = Buffer.from(expected, "hex");
  const b = Buffer.from(auth.signature, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
