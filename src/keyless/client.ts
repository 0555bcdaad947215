import * as z from "zod/mini";
import { tokenIdSchema } from "../checks.js";
import type { HttpDeps } from "../cloudflare/client.js";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, type RetryPolicy, withRetries } from "../cloudflare/retry.js";
import { ActionError } from "../errors.js";
import "../zod-locale.js";

/**
 * The client of the keyless credential-vending Worker (worker/): it mints and revokes with the
 * account token it holds, for callers that prove who they are with a GitHub OIDC token.
 */

const nonEmpty = z.string().check(z.minLength(1));

/** The Worker answers with the action's own output names, so they are published unchanged. */
const vendedSchema = z.looseObject({
  mode: z.enum(["token", "hybrid"]),
  "access-key-id": nonEmpty,
  "secret-access-key": nonEmpty,
  "session-token": z.string(),
  endpoint: nonEmpty,
  region: nonEmpty,
  bucket: nonEmpty,
  "expires-at": nonEmpty,
  "token-id": tokenIdSchema,
  // What the credentials are narrowed to; a Worker's rule may narrow further than asked. Optional: an
  // older Worker does not say, and narrowed exactly as asked.
  prefixes: z.optional(z.array(z.string())),
  objects: z.optional(z.array(z.string())),
});
export type Vended = z.infer<typeof vendedSchema>;

const revokedSchema = z.looseObject({ revoked: z.boolean(), reason: z.optional(z.string()) });
const errorSchema = z.object({
  error: z.object({ status: z.optional(z.number()), code: z.string(), message: z.string() }),
});

/** The minting inputs the Worker accepts, named as the action's inputs. */
export interface VendRequest {
  bucket: string[];
  permission: string;
  prefixes: string[];
  objects: string[];
  ttl: string;
  jurisdiction: string;
}

class VendingError extends ActionError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  /** The token a 200 answer named although the rest of it could not be read: minted, and ours to revoke. */
  readonly mintedTokenId: string | undefined;

  constructor(
    message: string,
    options: {
      status?: number;
      retryable: boolean;
      retryAfterMs?: number | undefined;
      hint?: string;
      mintedTokenId?: string | undefined;
    },
  ) {
    super("cloudflare", message, options.hint);
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.mintedTokenId = options.mintedTokenId;
  }
}

/** The child token a failed vendMint left minted (its answer named it), if any. */
export const mintedTokenIdOf = (error: unknown): string | undefined =>
  error instanceof VendingError ? error.mintedTokenId : undefined;

const HINTS: Record<string, string> = {
  policy_denied: "Ask the Worker's owner to allow this repository, bucket, permission or ttl in its POLICY.",
  wrong_audience:
    "Set the audience input to the Worker's AUDIENCE (by default the action uses the vending-url's origin).",
  expired: "The OIDC token expired on its way; check the runner's clock.",
  not_owner: "The Worker revokes only child tokens minted for the same repository and run.",
};

async function call<T>(
  deps: HttpDeps,
  url: string,
  idToken: string,
  body: unknown,
  schema: z.core.$ZodType<T>,
  policy: RetryPolicy,
  retryNetworkErrors: boolean,
): Promise<T> {
  const once = async (): Promise<T> => {
    let response: Response;
    try {
      response = await deps.fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${idToken}`,
          "content-type": "application/json",
          accept: "application/json",
        },
        body: JSON.stringify(body),
        // The Worker may itself wait out Cloudflare's retries before it answers.
        signal: AbortSignal.timeout(60_000),
      });
    } catch (cause) {
      throw new VendingError(
        `Vending Worker ${url} could not be reached: ${cause instanceof Error ? cause.message : String(cause)}.`,
        {
          retryable: retryNetworkErrors,
        },
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VendingError(
        `Vending Worker ${url} answered HTTP ${response.status} with a body that is not JSON.`,
        {
          status: response.status,
          retryable: response.status >= 500,
        },
      );
    }
    if (!response.ok) {
      const parsed = errorSchema.safeParse(json);
      // 500 (misconfigured Worker) and 502 (Cloudflare refused, after the Worker's own retries) cannot
      // get better by asking again; 429 and the gateway's 503/504 can.
      const retryable = [429, 503, 504].includes(response.status);
      const detail = parsed.success
        ? `${parsed.data.error.code}: ${parsed.data.error.message.replace(/[.\s]+$/, "")}`
        : "no error details";
      throw new VendingError(`Vending Worker ${url} refused: HTTP ${response.status} ${detail}.`, {
        status: response.status,
        retryable,
        retryAfterMs: retryable
          ? parseRetryAfter(response.headers.get("retry-after"), deps.now())
          : undefined,
        ...(parsed.success && HINTS[parsed.data.error.code] ? { hint: HINTS[parsed.data.error.code] } : {}),
      });
    }
    const parsed = z.safeParse(schema, json);
    if (!parsed.success) {
      const named = z.safeParse(tokenIdSchema, (json as Record<string, unknown> | null)?.["token-id"]);
      throw new VendingError(
        `Vending Worker ${url} answered with an unexpected shape (${parsed.error.issues[0]?.message}).`,
        {
          status: response.status,
          retryable: false,
          mintedTokenId: named.success ? named.data : undefined,
        },
      );
    }
    return parsed.data;
  };
  return withRetries(once, {
    policy,
    deps,
    verdict: (error) => (error instanceof VendingError ? error : undefined),
  });
}

/** The Worker's endpoints sit under the vending-url: `<vending-url>/v1/mint` and `/v1/revoke`. */
function vendingEndpoint(vendingUrl: string, path: "mint" | "revoke"): string {
  return `${vendingUrl.replace(/\/+$/, "")}/v1/${path}`;
}

export function vendMint(
  deps: HttpDeps,
  vendingUrl: string,
  idToken: string,
  request: VendRequest,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<Vended> {
  // The Worker deletes what it minted before answering an error, so 429/5xx are safe to retry; a lost
  // connection is not (the Worker may have minted), and a second mint would orphan the first.
  return call(deps, vendingEndpoint(vendingUrl, "mint"), idToken, request, vendedSchema, policy, false);
}

export async function vendRevoke(
  deps: HttpDeps,
  vendingUrl: string,
  idToken: string,
  tokenId: string,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<"deleted" | "already-gone"> {
  const body = { "token-id": tokenId };
  const result = await call(
    deps,
    vendingEndpoint(vendingUrl, "revoke"),
    idToken,
    body,
    revokedSchema,
    policy,
    true,
  );
  return result.revoked ? "deleted" : "already-gone";
}
