/**
 * `npm run demo`: the whole flow on the built-in Cloudflare emulator, no account needed.
 * Starts the emulator, runs the action's main step exactly as the GitHub runner does, uploads a file
 * with the AWS SDK using the exported credentials, runs the post step, and shows the same credentials
 * being refused. Output is what a workflow log would show: every masked value appears as ***.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startEmulator } from "../emulator/index.js";
import { runMain, runPost, type StepResult } from "./harness/runner.js";

const BUCKET = "demo-artifacts";
const PROPAGATION_MS = 1500;
const bold = (text: string) => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);

function heading(text: string): void {
  console.log(`\n${bold(`== ${text}`)}`);
}

/** The runner's view of a step's log: add-mask lines hidden, masked values replaced by ***. */
function runnerLog(step: StepResult, masks: Set<string>): string[] {
  const shown: string[] = [];
  for (const line of step.stdout.split("\n")) {
    const mask = /^::add-mask::(.*)$/.exec(line);
    if (mask?.[1]) {
      masks.add(mask[1]);
      continue;
    }
    if (line.trim() === "" || line.startsWith("::debug::")) continue;
    let text = line;
    for (const secret of masks) text = text.split(secret).join("***");
    shown.push(`   | ${text}`);
  }
  return shown;
}

function masked(value: string, masks: Set<string>): string {
  return value !== "" && masks.has(value) ? "***" : value || "(empty)";
}

async function tryUpload(client: S3Client, key: string): Promise<string> {
  try {
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `built at ${new Date().toISOString()}\n` }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return `accepted: uploaded and read back s3://${BUCKET}/${key} (${(await got.Body?.transformToString())?.trim()})`;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    return `refused: HTTP ${e.$metadata?.httpStatusCode ?? "?"} ${e.name ?? String(error)}`;
  }
}

const emulator = await startEmulator({ propagationDelayMs: PROPAGATION_MS });
try {
  heading("1. A local Cloudflare (emulator) with one R2 bucket and the account token kept in secrets");
  const secret = emulator.seedToken({
    scope: "account",
    preset: "minter",
    name: "CI minter (repository secret)",
  });
  emulator.createBucket(BUCKET);
  console.log(`   Cloudflare API  ${emulator.apiUrl}`);
  console.log(`   R2 S3 endpoint  ${emulator.s3Endpoint()}`);
  console.log(`   bucket          ${BUCKET}`);
  console.log(
    `   propagation     new credentials are refused for ${PROPAGATION_MS} ms, like Cloudflare's "up to a minute"`,
  );

  heading("2. Main step: uses: r2-ephemeral-credentials with permission object-read-write");
  const masks = new Set<string>();
  const inputs = {
    "api-token": secret.value,
    "account-id": emulator.accountId,
    bucket: BUCKET,
    permission: "object-read-write",
    ttl: "15m",
    "api-url": emulator.apiUrl,
    "s3-endpoint": emulator.s3Endpoint(),
  };
  const main = await runMain({ inputs });
  for (const line of runnerLog(main, masks)) console.log(line);
  if (main.exitCode !== 0) throw new Error(`main step failed:\n${main.stdout}\n${main.stderr}`);
  console.log(`   main step took ${main.durationMs} ms; outputs (as a later step's log would show them):`);
  for (const [name, value] of Object.entries(main.outputs))
    console.log(`     ${name.padEnd(18)} ${masked(value, masks)}`);
  console.log(`   exported: ${Object.keys(main.env).join(", ")}`);

  heading("3. A later step uploads with the AWS SDK, reading the exported AWS_* variables");
  const client = new S3Client({
    endpoint: main.env.AWS_ENDPOINT_URL_S3,
    region: main.env.AWS_REGION,
    forcePathStyle: true,
    maxAttempts: 1,
    // R2 refuses the checksum trailers recent SDKs send for streamed bodies; Cloudflare's guidance.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: {
      accessKeyId: main.env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: main.env.AWS_SECRET_ACCESS_KEY ?? "",
    },
  });
  console.log(`   first request right after the step: ${await tryUpload(client, "builds/app.tar.gz")}`);

  heading("4. Post step (runs when the job ends, whatever its outcome)");
  const post = await runPost({ inputs, state: main.state, env: main.env });
  for (const line of runnerLog(post, masks)) console.log(line);

  heading("5. The same credentials after the post step");
  console.log(`   ${await tryUpload(client, "builds/after-revoke.txt")}`);
  console.log(`   child tokens left alive in the account: ${emulator.liveChildTokens().length}`);
  console.log(
    `   Cloudflare API calls: ${emulator.calls.map((c) => `${c.method} ${c.path.replace(/\?.*/, "")} → ${c.status}`).join(", ")}`,
  );
} finally {
  await emulator.close();
}
