/**
 * State from main to post, written and read only here: identifiers, never a secret (the post step
 * reads api-token again). The runner hands what main saved to post as STATE_<key>.
 */
import * as z from "zod/mini";
import { accountIdSchema, tokenIdSchema } from "../checks.js";
import { AWS_PROFILE_NAME } from "../config.js";
import { TOKEN_SCOPES, type TokenScope } from "../terms.js";
import type { ActionIO } from "./runner.js";

const KEY = {
  revoker: "revoker",
  tokenId: "token-id",
  tokenScope: "token-scope",
  accountId: "account-id",
  apiUrl: "api-url",
  expiresAt: "expires-at",
  revoke: "revoke",
  vendingUrl: "vending-url",
  audience: "audience",
  awsProfile: "aws-profile",
  awsConfigFile: "aws-config-file",
  awsCredentialsFile: "aws-credentials-file",
} as const;

/** Who can revoke what main minted: Cloudflare with the input token, the vending Worker, or nobody. */
export type Revoker = "cloudflare" | "vending-worker" | "none";

const revokeFlag = z.pipe(
  z.enum(["true", "false"]),
  z.transform((value) => value === "true"),
);
const common = { tokenId: tokenIdSchema, expiresAt: z.string(), revoke: revokeFlag };
const cloudflareState = z.object({
  ...common,
  scope: z.enum(TOKEN_SCOPES),
  accountId: accountIdSchema,
  apiUrl: z.url(),
});
const vendingState = z.object({ ...common, vendingUrl: z.url(), audience: z.string().check(z.minLength(1)) });

export type CloudflareChild = z.output<typeof cloudflareState>;
export type VendedChild = z.output<typeof vendingState>;

/** What the post step finds, decided once here. */
export type SavedState =
  | { kind: "nothing" }
  | { kind: "temporary"; expiresAt: string }
  | { kind: "invalid"; tokenId: string; expiresAt: string }
  | ({ kind: "cloudflare" } & CloudflareChild)
  | ({ kind: "vending-worker" } & VendedChild);

function save(io: Pick<ActionIO, "saveState">, values: Partial<Record<keyof typeof KEY, string>>): void {
  for (const [key, value] of Object.entries(values)) io.saveState(KEY[key as keyof typeof KEY], value);
}

export function saveCloudflareChild(
  io: Pick<ActionIO, "saveState">,
  child: { tokenId: string; scope: TokenScope; accountId: string; apiUrl: string; expiresAt: string },
  revoke: boolean,
): void {
  const { tokenId, scope: tokenScope, accountId, apiUrl, expiresAt } = child;
  const revoker: Revoker = "cloudflare";
  save(io, { revoker, tokenId, tokenScope, accountId, apiUrl, expiresAt, revoke: String(revoke) });
}

export function saveVendedChild(
  io: Pick<ActionIO, "saveState">,
  child: { tokenId: string; vendingUrl: string; audience: string; expiresAt: string },
  revoke: boolean,
): void {
  const revoker: Revoker = "vending-worker";
  save(io, { revoker, ...child, revoke: String(revoke) });
}

/** Temporary credentials: nothing to revoke, but the post step says when they expire. */
export function saveTemporary(io: Pick<ActionIO, "saveState">, expiresAt: string): void {
  const revoker: Revoker = "none";
  save(io, { revoker, expiresAt });
}

/** Main deleted its own child after a failure: the post step has nothing left to revoke. */
export function saveDiscarded(io: Pick<ActionIO, "saveState">): void {
  save(io, { tokenId: "" });
}

/** The AWS profile main writes (names and paths, no secret), saved before it is written so post removes it whatever happens. */
export interface SavedProfile {
  profile: string;
  configFile: string;
  credentialsFile: string;
}

const absolutePath = z.string().check(z.refine((p) => p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)));
const profileState = z.object({
  profile: z.string().check(z.regex(AWS_PROFILE_NAME)),
  configFile: absolutePath,
  credentialsFile: absolutePath,
});

export function saveProfile(io: Pick<ActionIO, "saveState">, saved: SavedProfile): void {
  save(io, {
    awsProfile: saved.profile,
    awsConfigFile: saved.configFile,
    awsCredentialsFile: saved.credentialsFile,
  });
}

/** The profile to remove, undefined when main wrote none; "invalid" when the state cannot be trusted. */
export function readProfile(io: Pick<ActionIO, "getState">): SavedProfile | "invalid" | undefined {
  const profile = io.getState(KEY.awsProfile);
  if (profile === "") return undefined;
  const parsed = z.safeParse(profileState, {
    profile,
    configFile: io.getState(KEY.awsConfigFile),
    credentialsFile: io.getState(KEY.awsCredentialsFile),
  });
  return parsed.success ? parsed.data : "invalid";
}

export function readState(io: Pick<ActionIO, "getState">): SavedState {
  const get = (key: keyof typeof KEY) => io.getState(KEY[key]);
  const expiresAt = get("expiresAt");
  const revoker = get("revoker");
  if (revoker === "none") return { kind: "temporary", expiresAt };
  const tokenId = get("tokenId");
  if (tokenId === "") return { kind: "nothing" };
  const common = { tokenId, expiresAt, revoke: get("revoke") };
  const parsed =
    revoker === "vending-worker"
      ? z.safeParse(vendingState, { ...common, vendingUrl: get("vendingUrl"), audience: get("audience") })
      : revoker === "cloudflare"
        ? z.safeParse(cloudflareState, {
            ...common,
            scope: get("tokenScope"),
            accountId: get("accountId"),
            apiUrl: get("apiUrl"),
          })
        : undefined;
  if (!parsed?.success) return { kind: "invalid", tokenId, expiresAt };
  return { kind: revoker as "cloudflare" | "vending-worker", ...parsed.data } as SavedState;
}
