// Measures the keyless vending Worker: its bundle size (esbuild, minified, as worker/build.ts makes it)
// and the mint latency through the Worker (HTTP to workerd in Miniflare: OIDC verification, policy,
// mint) against a direct mint() of the core in this process, on the same emulator in the same run,
// token mode and hybrid mode, wait-timeout 0 on both sides. Interleaved; median, min and max of --runs.
// Not a test: it prints a table.
//
//   npx tsx scripts/worker-latency.ts [--runs 10] [--latency-ms 0]
import { parseArgs } from "node:util";
import { type OidcIssuer, startOidcIssuer } from "../__tests__/helpers/oidc-issuer.js";
import { startVendingWorker, workerBundle } from "../__tests__/helpers/vending-worker.js";
import { startEmulator } from "../emulator/index.js";
import { CloudflareClient } from "../src/cloudflare/client.js";
import { revokeToken } from "../src/cloudflare/tokens.js";
import { parseConfig, type RawInputs } from "../src/config.js";
import { mint } from "../src/mint.js";
import { nodeHttpDeps } from "../src/node/http.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    "latency-ms": { type: "string", default: "0" },
  },
});
const runs = Number(values.runs);
const latencyMs = Number(values["latency-ms"]);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error("--latency-ms must be a number of ms");

function stats(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

const bundle = await workerBundle();
const gzipped = (
  await new Response(
    new Blob([bundle.code]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer()
).byteLength;

const emulator = await startEmulator({ propagationDelayMs: 0, revocationDelayMs: 0, latencyMs });
let issuer: OidcIssuer | undefined;
let worker: Awaited<ReturnType<typeof startVendingWorker>> | undefined;
try {
  const minter = emulator.seedToken({ scope: "account", preset: "minter" });
  emulator.createBucket("artifacts");
  issuer = await startOidcIssuer();
  const repository = "octo-org/octo-repo";
  worker = await startVendingWorker({
    emulator,
    issuer: issuer.issuer,
    apiToken: minter.value,
    policy: {
      rules: [
        {
          repository,
          buckets: ["artifacts"],
          permissions: ["object-read-write"],
          prefixes: ["pipelines/"],
          max_ttl: "1h",
        },
        { repository, buckets: ["artifacts"], permissions: ["object-read-write"], max_ttl: "1h" },
      ],
    },
  });
  const deps = await nodeHttpDeps({});
  const client = new CloudflareClient({ apiUrl: emulator.apiUrl, deps });

  const modes: { label: string; body: Record<string, string> }[] = [
    { label: "token", body: { bucket: "artifacts", permission: "object-read-write", ttl: "1h" } },
    {
      label: "hybrid (prefixes)",
      body: {
        bucket: "artifacts",
        permission: "object-read-write",
        ttl: "1h",
        prefixes: "pipelines/nightly/",
      },
    },
  ];

  const direct = async (body: Record<string, string>) => {
    const raw: RawInputs = {
      ...body,
      "api-token": minter.value,
      "account-id": emulator.accountId,
      "api-url": emulator.apiUrl,
      "s3-endpoint": emulator.s3Endpoint(),
      "wait-timeout": "0",
    };
    const started = performance.now();
    const config = parseConfig(raw);
    const minted = await mint(config, {
      ...deps,
      client,
      mask: () => {},
      onChildCreated: () => {},
      log: () => {},
      warn: (message) => process.stderr.write(`${message}\n`),
      debug: () => {},
      run: { repository, runId: "1", runAttempt: "1", job: "measure" },
    });
    const elapsed = performance.now() - started;
    if (minted.child) {
      const target = { scope: minted.child.scope, accountId: minted.child.accountId, token: minter.value };
      await revokeToken(client, target, minted.child.tokenId);
    }
    return elapsed;
  };

  const claims = issuer.claims({ repository });
  const oidc = await issuer.sign({ ...claims }, { expiresIn: 3600 });
  const viaWorker = async (body: Record<string, string>) => {
    const started = performance.now();
    const answer = await worker?.mint(oidc, body);
    const elapsed = performance.now() - started;
    if (answer?.status !== 200) throw new Error(`the Worker refused: ${answer?.text}`);
    await worker?.revoke(oidc, answer.body["token-id"] ?? "");
    return elapsed;
  };

  // Cold: the Worker's first mint fetches the issuer's JWKS; later ones use jose's cache.
  const coldMs = await viaWorker(modes[0]?.body ?? {});
  for (const mode of modes) {
    await direct(mode.body);
    await viaWorker(mode.body);
  }

  const rows: string[] = [];
  for (const mode of modes) {
    const directMs: number[] = [];
    const workerMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      directMs.push(await direct(mode.body));
      workerMs.push(await viaWorker(mode.body));
    }
    const d = stats(directMs);
    const w = stats(workerMs);
    rows.push(
      `| ${mode.label} | ${ms(d.median)} (${ms(d.min)}–${ms(d.max)}) | ${ms(w.median)} (${ms(w.min)}–${ms(w.max)}) | +${ms(w.median - d.median)} |`,
    );
  }
  if (emulator.liveChildTokens().length > 0) throw new Error("a child token survived the measurement");

  console.log(`Worker bundle (esbuild, minified): ${bundle.bytes} bytes, ${gzipped} bytes gzipped`);
  console.log(
    `Mint latency, ${runs} runs each, emulator latency ${latencyMs} ms, wait-timeout 0, Node ${process.version}; first mint through the Worker (JWKS fetch): ${ms(coldMs)}`,
  );
  console.log("");
  console.log("| mode | direct mint() median (min–max) | through the Worker median (min–max) | difference |");
  console.log("|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await worker?.dispose();
  await issuer?.close();
  await emulator.close();
}
