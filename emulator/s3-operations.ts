// The S3 operations on the in-memory store: objects, buckets, listings and multipart uploads, each
// with the permission it needs. The endpoint (s3.ts) has authenticated the request and chosen the
// operation; the table here says what to check and what to answer.
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { hexId } from "./ids.js";
import { isValidBucketName, newBucket } from "./r2-api.js";
import { allows, type Principal, type S3Need } from "./s3-auth.js";
import { E, S3Error } from "./s3-errors.js";
import { md5Hex } from "./s3-payload.js";
import { blocks, el, S3_NS, text, XML_HEAD } from "./s3-xml.js";
import { first, type Query } from "./sigv4.js";
import type { Bucket, CorsRule, State, StoredObject } from "./state.js";
import type { Jurisdiction } from "./types.js";

// S3 and R2: every part but the last must be at least 5 MiB.
const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Uint8Array;
}

export interface OpContext {
  state: State;
  jurisdiction: Jurisdiction;
  bucketName: string;
  key: string;
  query: Query;
  headers: IncomingHttpHeaders;
  body: Buffer;
  principal: Principal;
}

export interface Op {
  need: (c: OpContext) => S3Need;
  run: (c: OpContext) => Reply;
}

export const q1 = (q: Query, name: string): string | undefined => first(q[name]);
export const h1 = (h: IncomingHttpHeaders, name: string): string | undefined => first(h[name]);

const xml = (status: number, body: string): Reply => ({
  status,
  headers: { "content-type": "application/xml" },
  body: XML_HEAD + body,
});

function bucketOf(c: OpContext): Bucket {
  const b = c.state.bucket(c.bucketName, c.jurisdiction);
  if (!b) throw E.noSuchBucket();
  return b;
}

function objectOf(c: OpContext): StoredObject {
  const o = bucketOf(c).objects.get(c.key);
  if (!o) throw E.noSuchKey();
  return o;
}

const onBucket = (c: OpContext) => ({ name: c.bucketName, jurisdiction: c.jurisdiction });
const objectNeed =
  (action: "object.read" | "object.write") =>
  (c: OpContext): S3Need => ({ action, bucket: onBucket(c), key: c.key });

function metadataFrom(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith("x-amz-meta-") && v !== undefined) meta[k] = Array.isArray(v) ? v.join(",") : v;
  }
  return meta;
}

function store(
  c: OpContext,
  bucket: Bucket,
  key: string,
  data: Uint8Array,
  from?: StoredObject,
): StoredObject {
  const obj: StoredObject = {
    body: data,
    etag: `"${md5Hex(data)}"`,
    lastModified: c.state.now(),
    metadata: from ? from.metadata : metadataFrom(c.headers),
  };
  const type = from ? from.contentType : h1(c.headers, "content-type");
  if (type !== undefined) obj.contentType = type;
  bucket.objects.set(key, obj);
  return obj;
}

function objectHeaders(o: StoredObject): Record<string, string | number> {
  return {
    etag: o.etag,
    "last-modified": new Date(o.lastModified).toUTCString(),
    "accept-ranges": "bytes",
    "content-type": o.contentType ?? "application/octet-stream",
    ...o.metadata,
  };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined = whole object (also for multi-range). */
function parseRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const n = Number(b);
    if (n === 0) throw E.invalidRange();
    return [Math.max(0, size - n), size - 1];
  }
  const start = Number(a);
  if (start >= size) throw E.invalidRange();
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return undefined;
  return [start, end];
}

function readObject(c: OpContext, head: boolean): Reply {
  const o = objectOf(c);
  const range = parseRange(h1(c.headers, "range"), o.body.length);
  const headers = objectHeaders(o);
  if (!range)
    return {
      status: 200,
      headers: { ...headers, "content-length": o.body.length },
      body: head ? undefined : o.body,
    };
  const [start, end] = range;
  return {
    status: 206,
    headers: {
      ...headers,
      "content-length": end - start + 1,
      "content-range": `bytes ${start}-${end}/${o.body.length}`,
    },
    body: head ? undefined : o.body.subarray(start, end + 1),
  };
}

// --- listing ---------------------------------------------------------------------------------

interface Entry {
  key?: StoredObject & { name: string };
  prefix?: string;
  marker: string;
}

function listEntries(bucket: Bucket, prefix: string, delimiter: string, after: string | undefined): Entry[] {
  const out: Entry[] = [];
  for (const name of [...bucket.objects.keys()].sort()) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const idx = delimiter ? rest.indexOf(delimiter) : -1;
    if (idx >= 0) {
      const cp = prefix + rest.slice(0, idx + delimiter.length);
      // Resuming after a common prefix skips everything under it.
      if ((after !== undefined && cp <= after) || out.at(-1)?.prefix === cp) continue;
      out.push({ prefix: cp, marker: cp });
    } else {
      if (after !== undefined && name <= after) continue;
      const o = bucket.objects.get(name);
      if (o) out.push({ key: { ...o, name }, marker: name });
    }
  }
  return out;
}

function listObjects(c: OpContext): Reply {
  const bucket = bucketOf(c);
  const v2 = q1(c.query, "list-type") === "2";
  const prefix = q1(c.query, "prefix") ?? "";
  const delimiter = q1(c.query, "delimiter") ?? "";
  const maxKeys = Math.min(1000, Number(q1(c.query, "max-keys") ?? 1000));
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw E.invalidArgument("max-keys must be a non-negative integer");
  const urlEncode = q1(c.query, "encoding-type") === "url";
  const enc = (s: string) => (urlEncode ? encodeURIComponent(s) : s);
  const token = q1(c.query, "continuation-token");
  const after = v2
    ? token !== undefined
      ? Buffer.from(token, "base64url").toString("utf8")
      : q1(c.query, "start-after")
    : q1(c.query, "marker");
  const all = listEntries(bucket, prefix, delimiter, after || undefined);
  const page = all.slice(0, maxKeys);
  const truncated = all.length > page.length;
  const last = page.at(-1);
  const contents = page
    .map((e) =>
      e.key
        ? `<Contents>${el("Key", enc(e.key.name))}${el("LastModified", new Date(e.key.lastModified).toISOString())}${el("ETag", e.key.etag)}${el("Size", e.key.body.length)}${el("StorageClass", "STANDARD")}</Contents>`
        : `<CommonPrefixes>${el("Prefix", enc(e.prefix ?? ""))}</CommonPrefixes>`,
    )
    .join("");
  const paging = v2
    ? `${el("KeyCount", page.length)}${el("ContinuationToken", token)}${el("StartAfter", q1(c.query, "start-after"))}${
        truncated && last ? el("NextContinuationToken", Buffer.from(last.marker).toString("base64url")) : ""
      }`
    : `${el("Marker", enc(after ?? ""))}${truncated && last && delimiter ? el("NextMarker", enc(last.marker)) : ""}`;
  return xml(
    200,
    `<ListBucketResult xmlns="${S3_NS}">${el("Name", bucket.name)}${el("Prefix", enc(prefix))}${
      delimiter ? el("Delimiter", enc(delimiter)) : ""
    }${el("MaxKeys", maxKeys)}${urlEncode ? el("EncodingType", "url") : ""}${el("IsTruncated", truncated)}${paging}${contents}</ListBucketResult>`,
  );
}

function listBuckets(c: OpContext): Reply {
  const items = c.state
    .bucketsIn(c.jurisdiction)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(
      (b) =>
        `<Bucket>${el("Name", b.name)}${el("CreationDate", new Date(b.creationDate).toISOString())}</Bucket>`,
    )
    .join("");
  return xml(
    200,
    `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner>${el("ID", c.state.accountId)}${el("DisplayName", c.state.accountId)}</Owner><Buckets>${items}</Buckets></ListAllMyBucketsResult>`,
  );
}

// --- writes ------------------------------------------------------------------------------------

export function copySource(c: OpContext): { bucket: string; key: string } {
  const raw = (h1(c.headers, "x-amz-copy-source") ?? "").split("?")[0] ?? "";
  const decoded = decodeURIComponent(raw).replace(/^\//, "");
  const slash = decoded.indexOf("/");
  if (slash <= 0) throw E.invalidArgument("Invalid copy source");
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

function copyObject(c: OpContext): Reply {
  const src = copySource(c);
  const srcBucket = c.state.bucket(src.bucket, c.jurisdiction);
  if (!srcBucket) throw E.noSuchBucket();
  const from = srcBucket.objects.get(src.key);
  if (!from) throw E.noSuchKey();
  const dest = bucketOf(c);
  const replace = h1(c.headers, "x-amz-metadata-directive") === "REPLACE";
  const o = store(c, dest, c.key, from.body, replace ? undefined : from);
  return xml(
    200,
    `<CopyObjectResult>${el("LastModified", new Date(o.lastModified).toISOString())}${el("ETag", o.etag)}</CopyObjectResult>`,
  );
}

function uploadOf(c: OpContext) {
  const upload = bucketOf(c).uploads.get(q1(c.query, "uploadId") ?? "");
  if (!upload || upload.key !== c.key) throw E.noSuchUpload();
  return upload;
}

function completeMultipart(c: OpContext): Reply {
  const bucket = bucketOf(c);
  const upload = uploadOf(c);
  const body = c.body.toString("utf8");
  const requested = blocks(body, "Part").map((p) => ({
    number: Number(text(p, "PartNumber")),
    etag: (text(p, "ETag") ?? "").replace(/"/g, ""),
  }));
  if (requested.length === 0) throw E.malformedXml();
  const chosen = requested.map((r, i) => {
    const part = upload.parts.get(r.number);
    if (!part || part.etag.replace(/"/g, "") !== r.etag)
      throw E.invalidPart(`Part ${r.number} was not uploaded or its ETag differs`);
    if (i > 0 && (requested[i - 1]?.number ?? 0) >= r.number)
      throw E.invalidPart("Parts must be in ascending order");
    if (i < requested.length - 1 && part.body.length < MIN_PART_SIZE) throw E.entityTooSmall();
    return part;
  });
  const data = Buffer.concat(chosen.map((p) => p.body));
  const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag.replace(/"/g, ""), "hex")));
  const etag = `"${createHash("md5").update(md5s).digest("hex")}-${chosen.length}"`;
  const obj: StoredObject = { body: data, etag, lastModified: c.state.now(), metadata: upload.metadata };
  if (upload.contentType !== undefined) obj.contentType = upload.contentType;
  bucket.objects.set(c.key, obj);
  bucket.uploads.delete(q1(c.query, "uploadId") ?? "");
  return xml(
    200,
    `<CompleteMultipartUploadResult xmlns="${S3_NS}">${el("Bucket", bucket.name)}${el("Key", c.key)}${el("ETag", etag)}</CompleteMultipartUploadResult>`,
  );
}

function deleteObjects(c: OpContext): Reply {
  const bucket = bucketOf(c);
  const body = c.body.toString("utf8");
  const quiet = text(body, "Quiet") === "true";
  const keys = blocks(body, "Object").map((o) => text(o, "Key") ?? "");
  if (keys.length === 0) throw E.malformedXml();
  const results = keys.map((key) => {
    // Scoped temporary credentials are checked key by key.
    if (!allows(c.state, c.principal, { action: "object.write", bucket: onBucket(c), key })) {
      return `<Error>${el("Key", key)}${el("Code", "AccessDenied")}${el("Message", "Access Denied")}</Error>`;
    }
    bucket.objects.delete(key);
    return quiet ? "" : `<Deleted>${el("Key", key)}</Deleted>`;
  });
  return xml(200, `<DeleteResult xmlns="${S3_NS}">${results.join("")}</DeleteResult>`);
}

// --- the operation table ---------------------------------------------------------------------

export const OPS = {
  ListBuckets: { need: () => ({ action: "bucket.read" }), run: listBuckets },
  // Assumption (conformance: s3-head-bucket-item-scope): HeadBucket needs only read access to the
  // bucket's objects, so bucket-scoped credentials can probe their own bucket.
  HeadBucket: {
    need: (c) => ({ action: "object.read", bucket: onBucket(c) }),
    run: (c) => {
      bucketOf(c);
      return { status: 200, headers: { "x-amz-bucket-region": "auto" } };
    },
  },
  CreateBucket: {
    need: () => ({ action: "bucket.write" }),
    run: (c) => {
      if (!isValidBucketName(c.bucketName)) throw E.invalidBucketName();
      if (c.state.bucket(c.bucketName, c.jurisdiction)) throw E.bucketExists();
      newBucket(c.state, c.bucketName, c.jurisdiction);
      return { status: 200, headers: { location: `/${c.bucketName}` } };
    },
  },
  DeleteBucket: {
    need: () => ({ action: "bucket.write" }),
    run: (c) => {
      const b = bucketOf(c);
      if (b.objects.size > 0 || b.uploads.size > 0) throw E.bucketNotEmpty();
      c.state.removeBucket(b.name, b.jurisdiction);
      return { status: 204 };
    },
  },
  ListObjects: {
    need: (c) => ({ action: "object.read", bucket: onBucket(c), listPrefix: q1(c.query, "prefix") ?? "" }),
    run: listObjects,
  },
  GetBucketLocation: {
    need: (c) => ({ action: "object.read", bucket: onBucket(c) }),
    run: (c) => {
      bucketOf(c);
      return xml(200, `<LocationConstraint xmlns="${S3_NS}">auto</LocationConstraint>`);
    },
  },
  // A bucket-configuration read (admin permissions): the rules set through the REST API.
  // Assumption (conformance: cors-s3-view): S3's GetBucketCors shows the rules the REST API set, in
  // S3's names; a bucket without rules is NoSuchCORSConfiguration.
  GetBucketCors: {
    need: (c) => ({ action: "bucket.read", bucket: onBucket(c) }),
    run: (c) => {
      const rules = bucketOf(c).cors ?? [];
      if (rules.length === 0) {
        throw new S3Error(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist");
      }
      const rule = (r: CorsRule) =>
        `<CORSRule>${el("ID", r.id)}${r.allowed.origins.map((o) => el("AllowedOrigin", o)).join("")}${r.allowed.methods
          .map((m) => el("AllowedMethod", m))
          .join("")}${(r.allowed.headers ?? []).map((h) => el("AllowedHeader", h)).join("")}${(
          r.exposeHeaders ?? []
        )
          .map((h) => el("ExposeHeader", h))
          .join("")}${el("MaxAgeSeconds", r.maxAgeSeconds)}</CORSRule>`;
      return xml(200, `<CORSConfiguration xmlns="${S3_NS}">${rules.map(rule).join("")}</CORSConfiguration>`);
    },
  },
  DeleteObjects: { need: (c) => ({ action: "object.write", bucket: onBucket(c) }), run: deleteObjects },
  ListMultipartUploads: {
    need: (c) => ({ action: "object.read", bucket: onBucket(c), listPrefix: q1(c.query, "prefix") ?? "" }),
    run: (c) =>
      xml(
        200,
        `<ListMultipartUploadsResult xmlns="${S3_NS}">${el("Bucket", bucketOf(c).name)}${el("IsTruncated", false)}</ListMultipartUploadsResult>`,
      ),
  },
  PutObject: {
    need: objectNeed("object.write"),
    run: (c) => ({ status: 200, headers: { etag: store(c, bucketOf(c), c.key, c.body).etag } }),
  },
  CopyObject: {
    need: objectNeed("object.write"),
    run: copyObject,
  },
  GetObject: { need: objectNeed("object.read"), run: (c) => readObject(c, false) },
  HeadObject: { need: objectNeed("object.read"), run: (c) => readObject(c, true) },
  DeleteObject: {
    need: objectNeed("object.write"),
    run: (c) => {
      bucketOf(c).objects.delete(c.key);
      return { status: 204 };
    },
  },
  CreateMultipartUpload: {
    need: objectNeed("object.write"),
    run: (c) => {
      const bucket = bucketOf(c);
      const uploadId = hexId();
      const upload = {
        key: c.key,
        initiated: c.state.now(),
        metadata: metadataFrom(c.headers),
        parts: new Map(),
      };
      const type = h1(c.headers, "content-type");
      bucket.uploads.set(uploadId, type === undefined ? upload : { ...upload, contentType: type });
      return xml(
        200,
        `<InitiateMultipartUploadResult xmlns="${S3_NS}">${el("Bucket", bucket.name)}${el("Key", c.key)}${el("UploadId", uploadId)}</InitiateMultipartUploadResult>`,
      );
    },
  },
  UploadPart: {
    need: objectNeed("object.write"),
    run: (c) => {
      const n = Number(q1(c.query, "partNumber"));
      if (!Number.isInteger(n) || n < 1 || n > 10000)
        throw E.invalidArgument("Part number must be 1 to 10000");
      const etag = `"${md5Hex(c.body)}"`;
      uploadOf(c).parts.set(n, { body: c.body, etag });
      return { status: 200, headers: { etag } };
    },
  },
  CompleteMultipartUpload: { need: objectNeed("object.write"), run: completeMultipart },
  AbortMultipartUpload: {
    need: objectNeed("object.write"),
    run: (c) => {
      uploadOf(c);
      bucketOf(c).uploads.delete(q1(c.query, "uploadId") ?? "");
      return { status: 204 };
    },
  },
} satisfies Record<string, Op>;

export type OpName = keyof typeof OPS;
