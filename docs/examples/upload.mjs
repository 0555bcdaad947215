// Upload a file or a directory to R2 with the AWS SDK for JavaScript v3, using only the environment.
//
//   node upload.mjs SOURCE s3://BUCKET/KEY-OR-PREFIX/
//
// SOURCE is a file or a directory. A directory is uploaded recursively under the prefix (which
// should end with "/"); a file goes to the key as written, or under the prefix when the destination
// ends with "/". Needs `npm install @aws-sdk/client-s3`.
//
// Everything comes from the variables r2-ephemeral-credentials exports: the SDK reads
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (empty means none) and AWS_REGION
// ("auto") itself. Recent SDK releases also read AWS_ENDPOINT_URL_S3; it is passed explicitly here
// so that older releases work too. No configuration file, no profile.
//
// Files are streamed, not read into memory. With a stream, SDK releases from 3.729 on compute a
// checksum by default and send it as an aws-chunked trailer, which R2 refuses (501 NotImplemented,
// or errors that look like bad credentials); the action exports AWS_REQUEST_CHECKSUM_CALCULATION=
// when_required and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required, which the SDK reads too.
//
// Exit status: 0 when every file was uploaded, 1 when S3 refused one, 2 on bad usage.
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";

function parseDestination(url) {
  const match = /^s3:\/\/([^/]+)\/(.*)$/s.exec(url);
  if (!match)
    throw new Error(`destination must look like s3://bucket/key or s3://bucket/prefix/, not ${url}`);
  return { bucket: match[1], key: match[2] };
}

async function plan(source, key) {
  const info = await stat(source).catch(() => undefined);
  if (info?.isDirectory()) {
    const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
    const entries = await readdir(source, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name))
      .sort()
      .map((file) => [file, prefix + path.relative(source, file).split(path.sep).join("/")]);
  }
  if (info?.isFile()) {
    return [[source, key === "" || key.endsWith("/") ? key + path.basename(source) : key]];
  }
  throw new Error(`${source} is neither a file nor a directory`);
}

const [source, destination] = process.argv.slice(2);
if (source === undefined || destination === undefined || process.argv.length !== 4) {
  console.error("usage: node upload.mjs SOURCE s3://BUCKET/KEY-OR-PREFIX/");
  process.exit(2);
}
let bucket;
let uploads;
try {
  const parsed = parseDestination(destination);
  bucket = parsed.bucket;
  uploads = await plan(source, parsed.key);
} catch (error) {
  console.error(`upload.mjs: ${error.message}`);
  process.exit(2);
}

const s3 = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL_S3 });
for (const [file, key] of uploads) {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file) }));
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    console.error(`upload.mjs: s3://${bucket}/${key}: ${error.name}: ${error.message}`);
    process.exit(1);
  }
  console.log(`uploaded ${file} to s3://${bucket}/${key}`);
}
