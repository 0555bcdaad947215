// S3's error answers: the status and code a client sees, thrown by the operations and the request
// checks alike and rendered as XML by the endpoint (s3.ts).
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const E = {
  accessDenied: (why = "Access Denied") => new S3Error(403, "AccessDenied", why),
  // Assumption (conformance: s3-unknown-key): R2 documents 10002 "Unauthorized" (401); the emulator
  // answers it for an access key id it does not know.
  unauthorized: () => new S3Error(401, "Unauthorized", "The access key ID you provided does not exist."),
  signature: () =>
    new S3Error(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your secret access key and signing method.",
    ),
  // [DOCS r2 error codes] 10018 ExpiredRequest, HTTP 403 (a presigned URL past its X-Amz-Expires).
  expired: () => new S3Error(403, "ExpiredRequest", "Request has expired"),
  malformedAuth: (why: string) => new S3Error(400, "AuthorizationHeaderMalformed", why),
  skewed: () =>
    new S3Error(
      403,
      "RequestTimeTooSkewed",
      "The difference between the request time and the current time is too large.",
    ),
  noSuchBucket: () => new S3Error(404, "NoSuchBucket", "The specified bucket does not exist."),
  noSuchKey: () => new S3Error(404, "NoSuchKey", "The specified key does not exist."),
  noSuchUpload: () => new S3Error(404, "NoSuchUpload", "The specified multipart upload does not exist."),
  invalidRange: () => new S3Error(416, "InvalidRange", "The requested range is not satisfiable"),
  notImplemented: () =>
    new S3Error(501, "NotImplemented", "This operation is not implemented by the emulator."),
  invalidArgument: (why: string) => new S3Error(400, "InvalidArgument", why),
  malformedXml: () => new S3Error(400, "MalformedXML", "The XML you provided was not well-formed."),
  invalidPart: (why: string) => new S3Error(400, "InvalidPart", why),
  entityTooSmall: () =>
    new S3Error(
      400,
      "EntityTooSmall",
      "Your proposed upload is smaller than the minimum allowed object size.",
    ),
  bucketNotEmpty: () => new S3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty."),
  bucketExists: () => new S3Error(409, "BucketAlreadyOwnedByYou", "The bucket already exists."),
  invalidBucketName: () => new S3Error(400, "InvalidBucketName", "The specified bucket is not valid."),
};
