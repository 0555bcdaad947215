// What the emulator's own tests share: permission group ids, a Cloudflare API client, S3 clients
// for token and temporary credentials, and small readers of answers.
import { createHash, createHmac } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { type Emulator, PERMISSION_GROUPS } from "../../emulator/index.js";
import type { PolicyInput } from "../../emulator/types.js";

export const ID = Object.fromEntries(PERMISSION_GROUPS.map((g) => [g.name, g.id])) as Record<string, string>;
export const ITEM_WRITE = ID["Workers R2 Storage Bucket Item Write"] ?? "";
export const ITEM_READ = ID["Workers R2 Storage Bucket Item Read"] ?? "";
export const STORAGE_WRITE = ID["Workers R2 Storage Write"] ?? "";
export const STORAGE_READ = ID["Workers R2 Storage Read"] ?? "";

export interface Envelope {
  success: boolean;
  errors: { code: number; message: string }[];
  messages: unknown[];
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON results
  result: any;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON results
  result_info?: any;
}

/**
 * A Cloudflare API client for the emulator; given a function, it asks it for the emulator at each
 * call, so a client can be made while the file is collected, before useEmulator's beforeAll ran.
 */
export function client(target: Emulator | (() => Emulator)) {
  return async (
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Envelope; headers: Headers }> => {
    const emu = typeof target === "function" ? target() : target;
    const res = await fetch(`${emu.apiUrl}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Envelope, headers: res.headers };
  };
}

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function s3For(
  emu: Emulator,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  jurisdiction: "default" | "eu" = "default",
) {
  return new S3Client({
    endpoint: emu.s3Endpoint(jurisdiction),
    region: "auto",
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
    // Checksum trailers are refused by default (assumptions.test.ts covers them); these tests are about
    // other things.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): Uint8Array | string =>
  typeof d === "string"
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

/** node:crypto behind the Hash interface @smithy/signature-v4 expects (for presigning in tests). */
export class NodeHash {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash("sha256") : createHmac("sha256", toBytes(secret));
  }
  update(d: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(toBytes(d));
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

export const tokenCreds = (t: { id: string; value: string }) => ({
  accessKeyId: t.id,
  secretAccessKey: sha256(t.value),
});

export function bucketPolicy(emu: Emulator, group: string, bucket: string, jurisdiction = "default") {
  return {
    effect: "allow",
    permission_groups: [{ id: group }],
    resources: { [`com.cloudflare.edge.r2.bucket.${emu.accountId}_${jurisdiction}_${bucket}`]: "*" },
  };
}

/** A policy granting `group` on the whole account (the account-level groups: R2 Storage, API Tokens). */
export function accountPolicy(emu: Emulator, group: string): PolicyInput {
  return {
    effect: "allow",
    permission_groups: [{ id: group }],
    resources: { [`com.cloudflare.api.account.${emu.accountId}`]: "*" },
  };
}

export const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

export async function s3Status(p: Promise<unknown>): Promise<{ status: number; name: string }> {
  try {
    await p;
    return { status: 200, name: "OK" };
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { status: err.$metadata?.httpStatusCode ?? 0, name: err.name };
  }
}
