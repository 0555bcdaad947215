// HTTP inspection and control for out-of-process users (demo, CLI, benchmarks): the same
// operations as the in-process Emulator object, under {inspectUrl}.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { ASSUMPTION_VALUES } from "./assumptions.js";
import { type Emulator, JURISDICTIONS } from "./types.js";

export const INSPECT_PREFIX = "/__emulator";

const ROUTE_NAMES = [
  "tokens.create",
  "tokens.list",
  "tokens.get",
  "tokens.update",
  "tokens.delete",
  "tokens.verify",
  "tokens.roll",
  "permission_groups.list",
  "r2.temp_credentials",
  "r2.buckets.list",
  "r2.buckets.create",
  "r2.buckets.get",
  "r2.buckets.delete",
  "r2.buckets.cors.get",
  "r2.buckets.cors.put",
  "r2.buckets.cors.delete",
  "unknown",
] as const;

const jurisdiction = z.enum(JURISDICTIONS as unknown as ["default", "eu", "us", "fedramp"]);

const faultSchema = z.strictObject({
  route: z.enum(ROUTE_NAMES),
  scope: z.enum(["account", "user"]).optional(),
  nth: z.number().int().min(1).optional(),
  times: z.number().int().min(1).optional(),
  kind: z.discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("status"),
      status: z.number().int().min(100).max(599),
      retryAfter: z.string().optional(),
      errors: z.array(z.strictObject({ code: z.number().int(), message: z.string() })).optional(),
    }),
    z.strictObject({ type: z.literal("latency"), ms: z.number().min(0) }),
    z.strictObject({ type: z.literal("drop-after") }),
    z.strictObject({ type: z.literal("drop-before") }),
    z.strictObject({ type: z.literal("malformed") }),
    z.strictObject({ type: z.literal("success-false") }),
    z.strictObject({ type: z.literal("result-after"), result: z.unknown() }),
  ]),
});

const setSchema = z.strictObject({
  propagationDelayMs: z.number().min(0).optional(),
  revocationDelayMs: z.number().min(0).optional(),
  latencyMs: z.number().min(0).optional(),
  // null switches the rate limit off (JSON has no undefined).
  rateLimit: z
    .strictObject({ requests: z.number().int().min(1), windowMs: z.number().min(1) })
    .nullable()
    .optional()
    .transform((v) => (v === null ? undefined : v)),
  tempCredentialCallers: z.enum(["parent", "storage-write", "parent-or-storage-write"]).optional(),
  tempAccessKeyId: z.enum(["own", "parent"]).optional(),
  clockOffsetMs: z.number().int().optional(),
  assumptions: z
    .strictObject(
      Object.fromEntries(
        Object.entries(ASSUMPTION_VALUES).map(([name, values]) => [
          name,
          z.union(values.map((v) => z.literal(v)) as [z.ZodLiteral, z.ZodLiteral]).optional(),
        ]),
      ),
    )
    .optional(),
});

const seedOddSchema = z.strictObject({ count: z.number().int().min(1).max(500) });

const policySchema = z.object({
  effect: z.enum(["allow", "deny"]),
  permission_groups: z.array(z.object({ id: z.string(), name: z.string().optional() })),
  resources: z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())])),
});

const seedSchema = z.strictObject({
  scope: z.enum(["account", "user"]),
  name: z.string().optional(),
  preset: z.enum(["minter", "user-minter", "r2-admin", "r2-bucket-write", "no-permissions"]).optional(),
  policies: z.array(policySchema).optional(),
  expiresOn: z.string().optional(),
  buckets: z.array(z.string()).optional(),
});

const bucketSchema = z.strictObject({ name: z.string(), jurisdiction: jurisdiction.optional() });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? {} : JSON.parse(text);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? null);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

type InspectHandler = (emu: Emulator, body: unknown) => unknown;

const HANDLERS: Record<string, InspectHandler> = {
  "GET /tokens": (emu) => emu.liveTokens(),
  "GET /calls": (emu) => emu.calls,
  "DELETE /calls": (emu) => {
    emu.resetCalls();
    return { ok: true };
  },
  "GET /s3-calls": (emu) => emu.s3Calls,
  "POST /faults": (emu, body) => {
    emu.injectFault(faultSchema.parse(body));
    return { ok: true };
  },
  "DELETE /faults": (emu) => {
    emu.clearFaults();
    return { ok: true };
  },
  "POST /set": (emu, body) => {
    emu.set(setSchema.parse(body));
    return { ok: true };
  },
  "POST /seed": (emu, body) => emu.seedToken(seedSchema.parse(body)),
  "POST /seed-odd": (emu, body) => emu.seedOddTokens(seedOddSchema.parse(body).count),
  "POST /buckets": (emu, body) => {
    const b = bucketSchema.parse(body);
    emu.createBucket(b.name, b.jurisdiction);
    return { ok: true };
  },
  "GET /info": (emu) => ({
    accountId: emu.accountId,
    userId: emu.userId,
    apiUrl: emu.apiUrl,
    inspectUrl: emu.inspectUrl,
    s3Endpoints: Object.fromEntries(JURISDICTIONS.map((j) => [j, emu.s3Endpoint(j)])),
    assumptions: emu.assumptions,
  }),
};

export async function handleInspect(emu: Emulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path =
    new URL(req.url ?? "/", "http://emulator.invalid").pathname.slice(INSPECT_PREFIX.length) || "/";
  const handler = HANDLERS[`${req.method} ${path.replace(/\/$/, "")}`];
  if (!handler) return reply(res, 404, { error: `no inspection route ${req.method} ${path}` });
  try {
    reply(res, 200, handler(emu, await readJson(req)));
  } catch (e) {
    const message =
      e instanceof z.ZodError
        ? e.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
        : String(e);
    reply(res, 400, { error: message });
  }
}
