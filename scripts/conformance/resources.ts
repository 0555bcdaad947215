// Everything a run creates: tokens and buckets whose names start with the run's prefix. Each one is
// tracked when it is created, and the clean-up also sweeps by prefix, so a create whose answer was
// lost (or interrupted) is deleted too. What cannot be deleted is printed with how to do it by hand.
import { setTimeout as sleep } from "node:timers/promises";
import { callApi, callS3, type S3Credentials, tokenS3Credentials } from "./http.js";

export type Jurisdiction = "default" | "eu" | "us" | "fedramp";

export interface Target {
  apiUrl: string;
  accountId: string;
  /** The account API token the run works with (CLOUDFLARE_API_TOKEN). */
  token: string;
  /** S3 endpoints known for this account, by jurisdiction. */
  s3Endpoints: Partial<Record<Jurisdiction, string>>;
}

export interface Leftover {
  kind: "token" | "bucket";
  name: string;
  id?: string;
  jurisdiction?: Jurisdiction;
  why: string;
}

export class Resources {
  readonly tokens = new Map<string, { id: string; name: string; deleted: boolean }>();
  readonly buckets = new Map<string, { name: string; jurisdiction: Jurisdiction; deleted: boolean }>();
  /** Jurisdictions in which a bucket create was attempted (swept by prefix at the end). */
  readonly jurisdictions = new Set<Jurisdiction>();

  constructor(readonly prefix: string) {}

  token(id: string, name: string): void {
    this.tokens.set(id, { id, name, deleted: false });
  }

  tokenDeleted(id: string): void {
    const t = this.tokens.get(id);
    if (t) t.deleted = true;
  }

  bucket(name: string, jurisdiction: Jurisdiction): void {
    this.buckets.set(`${jurisdiction}/${name}`, { name, jurisdiction, deleted: false });
  }

  /**
   * Deletes every token and bucket of this run: the tracked ones, and whatever a list shows with the
   * run's prefix. Buckets are emptied first through S3 with `s3Credentials` (the run's own token).
   * Returns what is left.
   */
  async cleanUp(
    target: Target,
    s3Credentials: S3Credentials | undefined,
    log: (line: string) => void,
  ): Promise<Leftover[]> {
    const leftovers: Leftover[] = [];
    const api = (method: string, path: string, headers: Record<string, string> = {}) =>
      callApi(target.apiUrl, method, path, { token: target.token, headers });
    const account = `/accounts/${target.accountId}`;

    // Tokens: the tracked ones, and any with the prefix (a create whose answer was lost).
    try {
      for (let page = 1; page <= 40; page++) {
        const res = await api("GET", `${account}/tokens?per_page=50&page=${page}`);
        if (res.status !== 200 || !Array.isArray(res.result) || res.result.length === 0) break;
        for (const t of res.result as { id?: unknown; name?: unknown }[]) {
          // Listed, so not gone: deleted again even if an earlier DELETE seemed to work.
          if (typeof t.id === "string" && typeof t.name === "string" && t.name.startsWith(this.prefix)) {
            this.token(t.id, t.name);
          }
        }
      }
    } catch (error) {
      log(`clean-up: could not list tokens to sweep by prefix: ${String(error)}`);
    }
    for (const t of this.tokens.values()) {
      if (t.deleted) continue;
      try {
        const res = await api("DELETE", `${account}/tokens/${t.id}`);
        // 404: already gone.
        if (res.status === 200 || res.status === 404) t.deleted = true;
        else
          leftovers.push({
            kind: "token",
            name: t.name,
            id: t.id,
            why: `DELETE answered HTTP ${res.status} ${res.codes.join(",")}`,
          });
      } catch (error) {
        leftovers.push({ kind: "token", name: t.name, id: t.id, why: String(error) });
      }
    }

    // Buckets: sweep each jurisdiction used by prefix, then delete the tracked ones.
    for (const jurisdiction of this.jurisdictions) {
      const headers: Record<string, string> =
        jurisdiction === "default" ? {} : { "cf-r2-jurisdiction": jurisdiction };
      try {
        const res = await api(
          "GET",
          `${account}/r2/buckets?name_contains=${encodeURIComponent(this.prefix)}&per_page=100`,
          headers,
        );
        for (const b of (res.result?.buckets ?? []) as { name?: unknown }[]) {
          if (
            typeof b.name === "string" &&
            b.name.startsWith(this.prefix) &&
            !this.buckets.has(`${jurisdiction}/${b.name}`)
          ) {
            this.bucket(b.name, jurisdiction);
          }
        }
      } catch (error) {
        log(`clean-up: could not list ${jurisdiction} buckets to sweep by prefix: ${String(error)}`);
      }
    }
    for (const b of this.buckets.values()) {
      if (b.deleted) continue;
      const headers: Record<string, string> =
        b.jurisdiction === "default" ? {} : { "cf-r2-jurisdiction": b.jurisdiction };
      try {
        await emptyBucket(target, b.name, b.jurisdiction, s3Credentials, log);
        let res = await api("DELETE", `${account}/r2/buckets/${b.name}`, headers);
        // Objects just deleted may still count for a moment (10008 BucketNotEmpty).
        for (let retry = 0; retry < 3 && res.codes.includes(10008); retry++) {
          await sleep(2_000);
          res = await api("DELETE", `${account}/r2/buckets/${b.name}`, headers);
        }
        if (res.status === 200 || res.codes.includes(10006)) b.deleted = true;
        else {
          leftovers.push({
            kind: "bucket",
            name: b.name,
            jurisdiction: b.jurisdiction,
            why: `DELETE answered HTTP ${res.status} ${res.codes.join(",")}`,
          });
        }
      } catch (error) {
        leftovers.push({ kind: "bucket", name: b.name, jurisdiction: b.jurisdiction, why: String(error) });
      }
    }
    return leftovers;
  }
}

/** Deletes the bucket's objects through S3 (a bucket must be empty to be deleted); best effort. */
async function emptyBucket(
  target: Target,
  bucket: string,
  jurisdiction: Jurisdiction,
  credentials: S3Credentials | undefined,
  log: (line: string) => void,
): Promise<void> {
  const endpoint = target.s3Endpoints[jurisdiction];
  if (!endpoint || !credentials) return;
  for (let round = 0; round < 20; round++) {
    const list = await callS3(`${endpoint}/${bucket}?list-type=2&max-keys=1000`, credentials);
    if (list.status !== 200) {
      if (list.status !== 404)
        log(`clean-up: could not list ${bucket} to empty it (HTTP ${list.status} ${list.code ?? ""})`);
      return;
    }
    const keys = [...list.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1] ?? ""));
    if (keys.length === 0) return;
    for (const key of keys) {
      const path = key.split("/").map(encodeURIComponent).join("/");
      await callS3(`${endpoint}/${bucket}/${path}`, credentials, { method: "DELETE" });
    }
  }
}

function unescapeXml(s: string): string {
  return s.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[e] ?? "",
  );
}

/** How to delete a leftover by hand. */
export function manualDeletion(target: Target, l: Leftover): string {
  const auth = `-H "Authorization: Bearer $CLOUDFLARE_API_TOKEN"`;
  const account = `${target.apiUrl}/accounts/${target.accountId}`;
  if (l.kind === "token") {
    return [
      `left behind: token ${l.name} (id ${l.id}): ${l.why}. Delete it in the dashboard (Manage account > Account API tokens) or with`,
      `  curl -X DELETE ${auth} ${account}/tokens/${l.id}`,
    ].join("\n");
  }
  const header =
    l.jurisdiction && l.jurisdiction !== "default" ? ` -H "cf-r2-jurisdiction: ${l.jurisdiction}"` : "";
  return [
    `left behind: bucket ${l.name} (jurisdiction ${l.jurisdiction ?? "default"}): ${l.why}. Empty it in the dashboard (R2 > ${l.name}), then delete it there or with`,
    `  curl -X DELETE ${auth}${header} ${account}/r2/buckets/${l.name}`,
  ].join("\n");
}

/**
 * The S3 credentials of the run's own token, found without the run's (possibly aborted) signal: its
 * id from the verify endpoint of its owner. Undefined when it does not verify.
 */
export async function ownS3Credentials(target: Target): Promise<S3Credentials | undefined> {
  for (const path of [`/accounts/${target.accountId}/tokens/verify`, "/user/tokens/verify"]) {
    try {
      const res = await callApi(target.apiUrl, "GET", path, { token: target.token });
      if (res.status === 200 && typeof res.result?.id === "string") {
        return tokenS3Credentials({ id: res.result.id, value: target.token });
      }
    } catch {
      // try the other owner
    }
  }
  return undefined;
}
