/**
 * Real S3 clients driven with the credentials the action exported: `@aws-sdk/client-s3` and Debian's
 * AWS CLI v2 (`/usr/bin/aws`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { type SpawnResult, spawnWithTimeout } from "../../scripts/harness/spawn.js";
import { requireClient } from "./clients.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  endpoint: string;
}

/** The credentials from the action's outputs (`access-key-id`, `secret-access-key`, `session-token`, `endpoint`). */
export function credentialsFromOutputs(outputs: Record<string, string>): S3Credentials {
  const { "access-key-id": accessKeyId, "secret-access-key": secretAccessKey, endpoint } = outputs;
  if (!accessKeyId || !secretAccessKey || !endpoint) {
    throw new Error(`outputs lack credentials: ${JSON.stringify(Object.keys(outputs))}`);
  }
  return { accessKeyId, secretAccessKey, sessionToken: outputs["session-token"] || undefined, endpoint };
}

/**
 * An S3 client for R2 (region auto, path-style, one attempt so every refusal is visible), with
 * checksums only where an operation requires them: R2 refuses the aws-chunked checksum trailers the
 * SDK sends for streamed bodies otherwise (docs/cloudflare-api.md §8.13), and these tests are about
 * other things.
 */
export function s3ClientFromOutputs(outputs: Record<string, string>, endpoint?: string): S3Client {
  const credentials = credentialsFromOutputs(outputs);
  return new S3Client({
    endpoint: endpoint ?? credentials.endpoint,
    region: outputs.region || "auto",
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  });
}

export interface S3Outcome {
  ok: boolean;
  status: number | undefined;
  code?: string;
  body?: string;
}

async function outcome(action: () => Promise<string | undefined>): Promise<S3Outcome> {
  try {
    const body = await action();
    return { ok: true, status: 200, body };
  } catch (error) {
    if (error instanceof S3ServiceException) {
      return { ok: false, status: error.$metadata.httpStatusCode, code: error.name };
    }
    throw error;
  }
}

export function putText(client: S3Client, bucket: string, key: string, body: string): Promise<S3Outcome> {
  return outcome(async () => {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "text/plain" }),
    );
    return undefined;
  });
}

export function getText(client: S3Client, bucket: string, key: string): Promise<S3Outcome> {
  return outcome(async () => {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body?.transformToString();
  });
}

export function listKeys(client: S3Client, bucket: string): Promise<S3Outcome> {
  return outcome(async () => {
    const response = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (response.Contents ?? []).map((object) => object.Key).join("\n");
  });
}

/**
 * Runs `/usr/bin/aws --endpoint-url <endpoint> <args>` with the given credentials and nothing else:
 * a throw-away HOME and config (path-style addressing), no ~/.aws, no instance metadata lookups,
 * one attempt.
 */
export async function runAwsCli(
  args: string[],
  credentials: S3Credentials,
  options: { timeoutMs?: number; input?: string } = {},
): Promise<SpawnResult> {
  const aws = requireClient("aws");
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "r2e-aws-"));
  const config = path.join(home, "config");
  fs.writeFileSync(config, "[default]\ns3 =\n  addressing_style = path\n");
  try {
    return await spawnWithTimeout(aws, ["--endpoint-url", credentials.endpoint, ...args], {
      env: {
        PATH: "/usr/bin:/bin",
        HOME: home,
        AWS_CONFIG_FILE: config,
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken ?? "",
        AWS_REGION: "auto",
        AWS_DEFAULT_REGION: "auto",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_MAX_ATTEMPTS: "1",
        AWS_RETRY_MODE: "standard",
        AWS_PAGER: "",
      },
      timeoutMs: options.timeoutMs ?? 30_000,
      input: options.input,
    });
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
