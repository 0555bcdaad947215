// Bucket CORS at the S3 endpoint, as browsers meet it: the preflight (OPTIONS with Origin and
// Access-Control-Request-Method) answered from the rules set through the REST API
// (`PUT …/r2/buckets/{b}/cors`, r2-api.ts), and the Access-Control-* headers on requests that carry a
// matching Origin. Without these a front end's upload fails in the browser however good its
// presigned URL is, so the tests of `cors set` and of the example front end need them.
import type { IncomingHttpHeaders } from "node:http";
import { E, S3Error } from "./s3-errors.js";
import { h1, type Reply } from "./s3-operations.js";
import type { Bucket, CorsRule } from "./state.js";

/** `*` matches any run of characters, as in S3's AllowedOrigin and AllowedHeader. */
function wildcardMatch(pattern: string, value: string, caseless: boolean): boolean {
  const [p, v] = caseless ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  if (!p.includes("*")) return p === v;
  const re = new RegExp(`^${p.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(v);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function requestedHeaders(headers: IncomingHttpHeaders): string[] {
  return (h1(headers, "access-control-request-headers") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/** The first rule that allows this origin and method (and, for a preflight, every requested header). */
function matchingRule(
  rules: CorsRule[] | undefined,
  origin: string,
  method: string,
  wantedHeaders: string[],
): CorsRule | undefined {
  return (rules ?? []).find(
    (rule) =>
      rule.allowed.origins.some((o) => wildcardMatch(o, origin, false)) &&
      rule.allowed.methods.includes(method) &&
      wantedHeaders.every((h) => (rule.allowed.headers ?? []).some((a) => wildcardMatch(a, h, true))),
  );
}

function allowOrigin(rule: CorsRule, origin: string): string {
  return rule.allowed.origins.includes("*") ? "*" : origin;
}

/**
 * Assumption (conformance: cors-preflight): R2 answers a preflight from the bucket's rules without
 * authentication. A rule that allows the origin, the requested method and every requested header
 * gives 200 with Access-Control-Allow-Origin (the origin, or `*` for a `*` rule),
 * -Allow-Methods (the rule's methods), -Allow-Headers (the requested ones), -Max-Age and
 * -Expose-Headers (when the rule has them); otherwise 403 AccessDenied without any CORS header, as S3
 * answers, which the browser reports as a failed preflight. A missing bucket is 404 NoSuchBucket;
 * an OPTIONS without Origin or Access-Control-Request-Method is 400. Refusals are thrown as S3Errors
 * for the endpoint (s3.ts) to render.
 */
export function preflight(bucket: Bucket | undefined, headers: IncomingHttpHeaders): Reply {
  const origin = h1(headers, "origin");
  const method = h1(headers, "access-control-request-method");
  if (!origin || !method) {
    throw new S3Error(
      400,
      "InvalidRequest",
      "A CORS preflight needs the Origin and Access-Control-Request-Method headers",
    );
  }
  if (!bucket) throw E.noSuchBucket();
  const wanted = requestedHeaders(headers);
  const rule = matchingRule(bucket.cors, origin, method, wanted);
  if (!rule) throw E.accessDenied("This CORS request is not allowed by the bucket's CORS rules");
  return {
    status: 200,
    headers: {
      "access-control-allow-origin": allowOrigin(rule, origin),
      "access-control-allow-methods": rule.allowed.methods.join(", "),
      ...(wanted.length > 0 ? { "access-control-allow-headers": wanted.join(", ") } : {}),
      ...(rule.maxAgeSeconds === undefined ? {} : { "access-control-max-age": rule.maxAgeSeconds }),
      ...(rule.exposeHeaders?.length
        ? { "access-control-expose-headers": rule.exposeHeaders.join(", ") }
        : {}),
      vary: "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    },
  };
}

/**
 * Assumption (conformance: cors-response-headers): a request (signed or presigned) carrying an
 * Origin that a rule allows for its method gets Access-Control-Allow-Origin and the rule's
 * Access-Control-Expose-Headers, on errors too (as S3 does, so the page can read why); one without
 * Origin, or with one no rule allows, gets none.
 */
export function corsResponseHeaders(
  bucket: Bucket | undefined,
  method: string,
  headers: IncomingHttpHeaders,
): Record<string, string> {
  const origin = h1(headers, "origin");
  if (!origin || !bucket) return {};
  const rule = matchingRule(bucket.cors, origin, method, []);
  if (!rule) return {};
  return {
    "access-control-allow-origin": allowOrigin(rule, origin),
    ...(rule.exposeHeaders?.length ? { "access-control-expose-headers": rule.exposeHeaders.join(", ") } : {}),
    vary: "Origin",
  };
}
