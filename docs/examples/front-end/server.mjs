// A stand-in for a Pages Function: serves the page and signs one presigned URL per request.
//
//   eval "$(r2-ephemeral-credentials mint --bucket my-uploads --permission object-read-write --ttl 8h --format env)"
//   BUCKET=my-uploads node server.mjs          # then open http://127.0.0.1:8788
//
// It holds an S3 key pair in AWS_* (as a Pages Function holds one in its secrets) and signs with
// `r2-ephemeral-credentials presign --from-env`, which mints nothing and calls no API: signing is
// local arithmetic with the key pair. It shells out to the CLI so that the example needs nothing
// installed beyond this repository and shows the CLI's own signing; a real Pages Function would sign
// in process with aws4fetch (docs/front-ends.md shows how). The browser then talks to R2 directly,
// so the file never passes through this server, and the bucket's CORS policy must allow the page's
// origin (r2-ephemeral-credentials cors set).
//
// Settings (environment): BUCKET (required), PORT (default 8788; 0 picks a free one), R2E_CLI (the
// CLI's bundle, default this repository's dist/cli/index.js), and the AWS_* variables mint exports.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const BUCKET = process.env.BUCKET;
const CLI = process.env.R2E_CLI || fileURLToPath(new URL("../../../dist/cli/index.js", import.meta.url));
const PORT = Number(process.env.PORT ?? 8788);
// Short: a URL is a bearer credential, and the page uses it at once.
const EXPIRES = "10m";
const PREFIX = "uploads/";

if (!BUCKET) {
  process.stderr.write("Set BUCKET to the bucket to upload into (and the AWS_* variables mint exports).\n");
  process.exit(2);
}

const STATIC = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.mjs": ["app.mjs", "text/javascript; charset=utf-8"],
};

/** A key of our own under uploads/, so a page can neither choose nor overwrite other keys. */
function keyFor(name) {
  const safe = String(name ?? "file")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .slice(-100);
  return `${PREFIX}${randomBytes(4).toString("hex")}-${safe || "file"}`;
}

/** `presign --from-env` for one key: { key, method, url, expires-at }. */
function presign(key, method) {
  const args = ["presign", "--from-env", "--bucket", BUCKET, "--key", key, "--method", method];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args, "--expires", EXPIRES, "--format", "json", "--quiet"],
      (error, stdout, stderr) => {
        if (error) reject(new Error(stderr.trim() || error.message));
        else resolve(JSON.parse(stdout)[0]);
      },
    );
  });
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

function reply(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** POST /api/presign { "method": "PUT", "name": "photo.jpg" } or { "method": "GET", "key": "uploads/…" }. */
async function handlePresign(req, res) {
  const request = await readJson(req);
  let key;
  if (request.method === "PUT") key = keyFor(request.name);
  else if (request.method === "GET" && /^uploads\/[0-9a-f]{8}-[A-Za-z0-9._-]+$/.test(request.key ?? ""))
    key = request.key;
  else return reply(res, 400, { error: "ask for PUT with a name, or GET with a key under uploads/" });
  const signed = await presign(key, request.method);
  reply(res, 200, { key, url: signed.url, expiresAt: signed["expires-at"] });
}

const server = createServer(async (req, res) => {
  try {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method === "POST" && path === "/api/presign") return await handlePresign(req, res);
    const file = STATIC[path];
    if (req.method !== "GET" || !file) return reply(res, 404, { error: "not found" });
    const body = await readFile(new URL(file[0], import.meta.url));
    res.writeHead(200, { "content-type": file[1] });
    res.end(body);
  } catch (error) {
    reply(res, 500, { error: error instanceof Error ? error.message : String(error) });
  }
});

server.listen(PORT, "127.0.0.1", () => {
  const { port } = server.address();
  process.stdout.write(`Serving the example on http://127.0.0.1:${port} (bucket ${BUCKET})\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
