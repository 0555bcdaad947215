/**
 * Bucket CORS rules as people write them, from flags or from a file in the API's shape, checked before
 * any call: origins as browsers send them in `Origin`, methods R2 knows, a max age R2 accepts
 * (docs/cloudflare-api.md §5). A rule a browser can never match fails silently in the browser, so it
 * is refused here with the reason. Messages name settings through placeholders (errors.ts).
 */
import * as z from "zod/mini";
import "./zod-locale.js";
import { CORS_METHODS, type CorsMethod, type CorsRule } from "./cloudflare/r2.js";
import { parseDuration } from "./config.js";
import { ActionError, InputError, type InputProblem } from "./errors.js";

/** Cloudflare's limit on `maxAgeSeconds`; browsers may cap it lower (Chromium at two hours). */
export const MAX_CORS_MAX_AGE_SECONDS = 86_400;

const ORIGIN_EXAMPLES = "https://my-site.pages.dev or http://localhost:5173";

/**
 * Why `value` can never equal the `Origin` a browser sends, or undefined when it can. Browsers send
 * `scheme://host[:port]`: lower case, no path, no trailing slash, no default port. `*` allows any.
 */
export function originProblem(value: string): string | undefined {
  if (value === "*") return undefined;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return "does not start with https:// or http://";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "does not start with https:// or http://";
  if (url.username || url.password) return "has a user name or password";
  if (url.search || url.hash || /[?#]/.test(value)) return "has a query or fragment";
  if (url.pathname !== "/" || value.endsWith("/")) return "has a path or a trailing slash";
  if (url.origin !== value) return `is not written as a browser sends it (${url.origin})`;
  return undefined;
}

/** An HTTP header name (RFC 9110 token), or `*` in an allowed-headers list. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface CorsFlags {
  origins: readonly string[];
  methods: readonly string[];
  headers: readonly string[];
  exposeHeaders: readonly string[];
  maxAge: string | undefined;
}

type Ctx = z.core.ParsePayload<unknown>;

function problem(ctx: Ctx, message: string): void {
  ctx.issues.push({ code: "custom", message, input: ctx.value });
}

const quote = (value: string) => JSON.stringify(value);

const originsOf = (name: string) =>
  z.pipe(
    z.array(z.string()),
    z.transform((values: string[], ctx) => {
      if (values.length === 0)
        problem(
          ctx as Ctx,
          `{input:${name}} is required: the origins of your front end, e.g. ${ORIGIN_EXAMPLES}.`,
        );
      for (const value of values) {
        const why = originProblem(value);
        if (why)
          problem(
            ctx as Ctx,
            `{input:${name}} has ${quote(value)}, which ${why}. An origin is scheme://host[:port] with no path or trailing slash, e.g. ${ORIGIN_EXAMPLES}.`,
          );
      }
      return [...new Set(values)];
    }),
  );

const methodsOf = (name: string) =>
  z.pipe(
    z.array(z.string()),
    z.transform((values: string[], ctx): CorsMethod[] => {
      if (values.length === 0)
        problem(ctx as Ctx, `{input:${name}} is required: the methods browsers may use, e.g. GET and PUT.`);
      const methods = values.map((v) => v.trim().toUpperCase());
      for (const [i, method] of methods.entries()) {
        if (!(CORS_METHODS as readonly string[]).includes(method))
          problem(
            ctx as Ctx,
            `{input:${name}} has ${quote(values[i] ?? "")}, which R2 does not take. Use: ${CORS_METHODS.join(", ")}.`,
          );
      }
      return [...new Set(methods)] as CorsMethod[];
    }),
  );

const headersOf = (name: string) =>
  z.pipe(
    z.array(z.string()),
    z.transform((values: string[], ctx) => {
      for (const value of values) {
        if (!HEADER_NAME.test(value))
          problem(
            ctx as Ctx,
            `{input:${name}} has ${quote(value)}, which is not a header name (e.g. content-type).`,
          );
      }
      return [...new Set(values)];
    }),
  );

const maxAgeFlag = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined, ctx) => {
    if (value === undefined) return undefined;
    const seconds = parseDuration(value);
    if (seconds !== undefined && seconds <= MAX_CORS_MAX_AGE_SECONDS) return seconds;
    problem(
      ctx as Ctx,
      `{input:max-age} is ${quote(value)}, which is not a time of at most ${MAX_CORS_MAX_AGE_SECONDS} s (1d). Use seconds or 10m, 1h; browsers cap it at about 2h anyway.`,
    );
    return undefined;
  }),
);

const flagsSchema = z.object({
  origin: originsOf("origin"),
  method: methodsOf("method"),
  header: headersOf("header"),
  "expose-header": headersOf("expose-header"),
  "max-age": maxAgeFlag,
});

/** The flags' problems: each message names its flag already. */
function flagProblems(issues: readonly z.core.$ZodIssue[]): InputProblem[] {
  return issues.map((issue) => ({ inputs: [String(issue.path[0] ?? "")], message: issue.message }));
}

/** A file's problems, each at its place in the file: `rules[0].allowed.origins[1]: …`. */
function fileProblems(issues: readonly z.core.$ZodIssue[], source: string): InputProblem[] {
  return issues.map((issue) => {
    const where = issue.path
      .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
      .join("")
      .replace(/^\./, "");
    return {
      inputs: ["file"],
      message: `{input:file} (${source}) ${where || "top level"}: ${issue.message}.`,
    };
  });
}

/** The one rule the flags describe, or an InputError naming every bad flag. */
export function corsRuleFromFlags(flags: CorsFlags): CorsRule {
  const parsed = z.safeParse(flagsSchema, {
    origin: flags.origins,
    method: flags.methods,
    header: flags.headers,
    "expose-header": flags.exposeHeaders,
    "max-age": flags.maxAge,
  });
  if (!parsed.success) throw new InputError(flagProblems(parsed.error.issues));
  const p = parsed.data;
  return {
    allowed: {
      origins: p.origin,
      methods: p.method,
      ...(p.header.length > 0 ? { headers: p.header } : {}),
    },
    ...(p["expose-header"].length > 0 ? { exposeHeaders: p["expose-header"] } : {}),
    ...(p["max-age"] === undefined ? {} : { maxAgeSeconds: p["max-age"] }),
  };
}

const fileOrigin = z.string().check(
  z.refine((value) => originProblem(value) === undefined, {
    error: (issue) =>
      `${quote(String(issue.input))} ${originProblem(String(issue.input))}; an origin is scheme://host[:port], e.g. ${ORIGIN_EXAMPLES}`,
  }),
);
const fileHeader = z.string().check(z.regex(HEADER_NAME, { error: "is not a header name" }));

/** The API's shape, strictly: a misspelt field would otherwise be dropped without a word. */
const fileSchema = z.strictObject({
  rules: z.array(
    z.strictObject({
      id: z.optional(z.string()),
      allowed: z.strictObject({
        origins: z.array(fileOrigin).check(z.minLength(1)),
        methods: z.array(z.enum(CORS_METHODS)).check(z.minLength(1)),
        headers: z.optional(z.array(fileHeader)),
      }),
      exposeHeaders: z.optional(z.array(fileHeader)),
      maxAgeSeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(MAX_CORS_MAX_AGE_SECONDS))),
    }),
  ),
});

/** S3's names for a CORS rule, which the dashboard's JSON editor takes and the API refuses (10040). */
const S3_NAMES: Record<string, (rule: Record<string, unknown>, value: unknown) => void> = {
  ID: (rule, v) => {
    rule.id = v;
  },
  AllowedOrigins: (rule, v) => {
    (rule.allowed as Record<string, unknown>).origins = v;
  },
  AllowedMethods: (rule, v) => {
    (rule.allowed as Record<string, unknown>).methods = v;
  },
  AllowedHeaders: (rule, v) => {
    (rule.allowed as Record<string, unknown>).headers = v;
  },
  ExposeHeaders: (rule, v) => {
    rule.exposeHeaders = v;
  },
  MaxAgeSeconds: (rule, v) => {
    rule.maxAgeSeconds = v;
  },
};

/** S3's PascalCase names in a list of rules. */
function isPascal(list: unknown[]): boolean {
  return list.some(
    (rule) => rule !== null && typeof rule === "object" && Object.keys(rule).some((k) => k in S3_NAMES),
  );
}

/** A file in a shape the API refuses, with the same rules in the shape it takes; undefined otherwise. */
function shapeProblem(json: unknown, source: string): ActionError | undefined {
  const object = json !== null && typeof json === "object" ? (json as Record<string, unknown>) : {};
  const list = Array.isArray(json) ? json : (object.CORSRules ?? object.rules);
  if (!Array.isArray(list)) return undefined;
  if (isPascal(list) || "CORSRules" in object) {
    return new ActionError(
      "input",
      `{input:file} (${source}) is in the S3 shape the dashboard's CORS editor takes (AllowedOrigins, AllowedMethods, …), which Cloudflare's API refuses (10040).`,
      `Write the same rules in the API's shape:\n${JSON.stringify(toApiShape(list), null, 2)}`,
    );
  }
  if (Array.isArray(json)) {
    return new ActionError(
      "input",
      `{input:file} (${source}) is a bare list of rules; the API takes them inside a "rules" wrapper.`,
      `Write it as:\n${JSON.stringify({ rules: json }, null, 2)}`,
    );
  }
  return undefined;
}

/** The same rules in the API's shape, to show in the refusal. */
function toApiShape(rules: unknown[]): { rules: Record<string, unknown>[] } {
  return {
    rules: rules.map((s3) => {
      const rule: Record<string, unknown> = { allowed: {} };
      for (const [key, value] of Object.entries((s3 ?? {}) as Record<string, unknown>))
        S3_NAMES[key]?.(rule, value);
      return rule;
    }),
  };
}

/**
 * The rules of a file in the API's shape (`{ "rules": [{ "allowed": { "origins", "methods",
 * "headers" }, "exposeHeaders", "maxAgeSeconds", "id" }] }`). The S3/dashboard shape is refused with
 * the same rules in the API's shape, ready to paste.
 */
export function corsRulesFromJson(text: string, source: string): CorsRule[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ActionError(
      "input",
      `{input:file} (${source}) is not JSON: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  const refused = shapeProblem(json, source);
  if (refused) throw refused;
  const parsed = z.safeParse(fileSchema, json);
  if (!parsed.success) throw new InputError(fileProblems(parsed.error.issues, source));
  return parsed.data.rules;
}
