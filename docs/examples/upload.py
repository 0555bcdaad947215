#!/usr/bin/env python3
"""Upload a file or a directory to R2 with boto3, using only the environment.

    python3 upload.py SOURCE s3://BUCKET/KEY-OR-PREFIX/

SOURCE is a file or a directory. A directory is uploaded recursively under the prefix (which
should end with "/"); a file goes to the key as written, or under the prefix when the
destination ends with "/".

Everything comes from the variables r2-ephemeral-credentials exports: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (boto3 reads those itself; an empty session token
means none), AWS_ENDPOINT_URL_S3 (read here, because boto3 before 1.28 ignores it) and
AWS_REGION / AWS_DEFAULT_REGION ("auto"). No configuration file, no profile.

Exit status: 0 when every file was uploaded, 1 when S3 refused one (the error names the key),
2 on bad usage.
"""

import os
import sys
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError


def parse_destination(url):
    if not url.startswith("s3://") or "/" not in url[len("s3://"):]:
        raise ValueError(f"destination must look like s3://bucket/key or s3://bucket/prefix/, not {url!r}")
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


def plan(source, key):
    """(local path, object key) pairs, in a stable order."""
    if source.is_dir():
        prefix = key if key == "" or key.endswith("/") else key + "/"
        files = sorted(p for p in source.rglob("*") if p.is_file())
        return [(p, prefix + p.relative_to(source).as_posix()) for p in files]
    if source.is_file():
        return [(source, key + source.name if key == "" or key.endswith("/") else key)]
    raise FileNotFoundError(f"{source} is neither a file nor a directory")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        bucket, key = parse_destination(argv[2])
        uploads = plan(Path(argv[1]), key)
    except (ValueError, FileNotFoundError) as error:
        print(f"upload.py: {error}", file=sys.stderr)
        return 2

    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"],
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "auto",
    )
    for path, object_key in uploads:
        try:
            s3.upload_file(str(path), bucket, object_key)
        except (ClientError, S3UploadFailedError) as error:
            # upload_file wraps S3's answer (a ClientError) in S3UploadFailedError.
            cause = error if isinstance(error, ClientError) else error.__context__
            if isinstance(cause, ClientError):
                detail = cause.response.get("Error", {})
                reason = f"{detail.get('Code', 'Error')}: {detail.get('Message', '')}"
            else:
                reason = str(error)
            print(f"upload.py: s3://{bucket}/{object_key}: {reason}", file=sys.stderr)
            return 1
        print(f"uploaded {path} to s3://{bucket}/{object_key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
