import { z } from "zod";
import type { Permission } from "../config.js";
import type { CloudflareClient } from "./client.js";

const tempCredentialsSchema = z
  .object({
    // Typed optional in Cloudflare's schema and SDK: insist on all three.
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    sessionToken: z.string().min(1),
  })
  .loose();
export type TempCredentials = z.infer<typeof tempCredentialsSchema>;

export interface TempCredentialsRequest {
  bucket: string;
  parentAccessKeyId: string;
  permission: Permission;
  ttlSeconds: number;
  prefixes?: string[];
  objects?: string[];
}

/** POST /accounts/{a}/r2/temp-access-credentials: credentials for one bucket, optionally narrowed to prefixes/objects. */
export function createTempCredentials(
  client: CloudflareClient,
  accountId: string,
  token: string,
  body: TempCredentialsRequest,
): Promise<TempCredentials> {
  return client.request({
    method: "POST",
    path: `/accounts/${accountId}/r2/temp-access-credentials`,
    token,
    body,
    result: tempCredentialsSchema,
  });
}
