// `npm run emulator`: starts the emulator on loopback, seeds a minter token and a bucket, prints
// how to reach them, and runs until SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { mergeOptions, parseAssumptionSetting } from "./assumptions.js";
import { startEmulator } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "propagation-delay-ms": { type: "string" },
    "latency-ms": { type: "string" },
    "account-id": { type: "string" },
    bucket: { type: "string", default: "demo-bucket" },
    assume: { type: "string", multiple: true },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  process.stdout.write(
    "Usage: npm run emulator -- [--port N] [--propagation-delay-ms N] [--latency-ms N] [--account-id HEX32] [--bucket NAME] [--assume NAME=VALUE]… [--json]\n",
  );
  process.exit(0);
}

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer\n`);
    process.exit(2);
  }
  return n;
}

let assumed = {};
try {
  assumed = (values.assume ?? []).map(parseAssumptionSetting).reduce(mergeOptions, {});
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

const emu = await startEmulator({
  ...assumed,
  apiPort: int("port", values.port),
  propagationDelayMs: int("propagation-delay-ms", values["propagation-delay-ms"]),
  latencyMs: int("latency-ms", values["latency-ms"]),
  ...(values["account-id"] ? { accountId: values["account-id"] } : {}),
});
const bucket = values.bucket ?? "demo-bucket";
emu.createBucket(bucket);
const token = emu.seedToken({ scope: "account", preset: "minter", name: "emulator cli minter" });

const info = {
  apiUrl: emu.apiUrl,
  s3Endpoint: emu.s3Endpoint(),
  s3Endpoints: { eu: emu.s3Endpoint("eu"), us: emu.s3Endpoint("us"), fedramp: emu.s3Endpoint("fedramp") },
  inspectUrl: emu.inspectUrl,
  accountId: emu.accountId,
  userId: emu.userId,
  bucket,
  tokenId: token.id,
  // A value minted by this local fake; it is worthless anywhere else.
  token: token.value,
};

if (values.json) {
  process.stdout.write(`${JSON.stringify(info)}\n`);
} else {
  process.stdout.write(
    [
      "Cloudflare API + R2 emulator (local fake, loopback only)",
      `  API URL:      ${info.apiUrl}`,
      `  S3 endpoint:  ${info.s3Endpoint}  (eu ${info.s3Endpoints.eu}, us ${info.s3Endpoints.us}, fedramp ${info.s3Endpoints.fedramp})`,
      `  Inspect URL:  ${info.inspectUrl}  (GET /tokens, /calls, /s3-calls; POST /faults, /set, /seed, /buckets)`,
      `  Account ID:   ${info.accountId}`,
      `  Bucket:       ${bucket}`,
      `  Minter token: ${info.token}  (fake value from this emulator, not a Cloudflare secret)`,
      "Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emu.close().then(() => process.exit(0));
  });
}
