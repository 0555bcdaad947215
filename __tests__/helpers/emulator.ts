/**
 * Small helpers around the emulator (emulator/index.ts) for the end-to-end tests: call filters,
 * direct API calls and clean-up. Bucket names and the action's inputs come from the runner harness
 * (scripts/harness/emulator-inputs.ts), which the benchmarks share.
 */
import { startEmulator } from "../../emulator/index.js";
import type { CallRecord, EmulatorOptions, FaultKind, SeededToken } from "../../emulator/types.js";

export { bucketName, emulatorInputs } from "../../scripts/harness/emulator-inputs.js";
export { startEmulator };
export type Emulator = Awaited<ReturnType<typeof startEmulator>>;

/** A fault: Cloudflare's answer to a call the token may not make (it also uses it for policy problems). */
export const FORBIDDEN_9109: FaultKind = {
  type: "status",
  status: 403,
  errors: [{ code: 9109, message: "Unauthorized to access requested resource" }],
};

/** Permission group ids the action sends first (Cloudflare's, docs/cloudflare-api.md §3). */
export const ITEM_WRITE_GROUP = "2efd5506f9c8494dacb1fa10a3e7d5b6";
export const ITEM_READ_GROUP = "6a018a9f2fc74eb6b293b0c548f38b39";
export const STORAGE_READ_GROUP = "b4992e1108244f5d8bfbd5744320c2e1";

/** The emulator most tests want: no propagation or revocation delay, no latency. */
export function startQuietEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ propagationDelayMs: 0, revocationDelayMs: 0, latencyMs: 0, ...options });
}

/** The resource key of a bucket in a token policy. */
export function bucketResource(accountId: string, bucket: string, jurisdiction = "default"): string {
  return `com.cloudflare.edge.r2.bucket.${accountId}_${jurisdiction}_${bucket}`;
}

export function callsTo(emulator: Emulator, route: CallRecord["route"]): CallRecord[] {
  return emulator.calls.filter((call) => call.route === route);
}

/** `route status` for each Cloudflare API call, in order: a readable sequence for assertions. */
export function callSequence(emulator: Emulator): string[] {
  return emulator.calls.map((call) => `${call.route} ${call.status}`);
}

export function liveChildIds(emulator: Emulator): string[] {
  return emulator.liveChildTokens().map((token) => token.id);
}

/** Calls the emulator's Cloudflare API directly (as a person with the seeded token would). */
export async function cloudflareApi(
  emulator: Emulator,
  token: SeededToken,
  method: string,
  path: string,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${emulator.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token.value}` },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body };
}

/**
 * Deletes every child token still alive (the tests' own clean-up, with the seeded minters), so a
 * failing test does not make the next one fail. Returns the ids it had to delete.
 */
export async function deleteLeftoverChildTokens(
  emulator: Emulator,
  minters: { account?: SeededToken; user?: SeededToken },
): Promise<string[]> {
  const leftovers = emulator.liveChildTokens();
  for (const token of leftovers) {
    const minter = token.scope === "user" ? minters.user : minters.account;
    if (!minter) throw new Error(`no ${token.scope} minter to clean up child token ${token.id}`);
    const path =
      token.scope === "user"
        ? `/user/tokens/${token.id}`
        : `/accounts/${emulator.accountId}/tokens/${token.id}`;
    const { status } = await cloudflareApi(emulator, minter, "DELETE", path);
    if (status !== 200 && status !== 404) throw new Error(`clean-up: DELETE ${path} answered ${status}`);
  }
  return leftovers.map((token) => token.id);
}

/** The body the action sent with a token create (as the emulator recorded it). */
export interface CreateTokenBody {
  name: string;
  expires_on: string;
  not_before?: string;
  policies: {
    effect: string;
    permission_groups: { id: string; name?: string }[];
    resources: Record<string, unknown>;
  }[];
}

export function createBodyOf(call: CallRecord | undefined): CreateTokenBody {
  if (call?.route !== "tokens.create") throw new Error(`not a tokens.create call: ${JSON.stringify(call)}`);
  return call.body as CreateTokenBody;
}

/** Permission group ids of the first policy of a create. */
export function groupIdsOf(call: CallRecord | undefined): string[] {
  return createBodyOf(call).policies[0]?.permission_groups.map((group) => group.id) ?? [];
}
