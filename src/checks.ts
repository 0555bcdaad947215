/**
 * The shape checks every surface shares (inputs, CLI flags, the Worker's settings, main→post state),
 * written once so that the action, the CLI and the Worker accept exactly the same values.
 */
import * as z from "zod/mini";

/** Account ids, token ids and R2 access key ids: 32 lowercase hex characters. */
const HEX32 = /^[0-9a-f]{32}$/;
/** R2 bucket names: 3-63 characters of a-z, 0-9 and -, starting and ending with a letter or digit. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const isHex32 = (value: string): boolean => HEX32.test(value);
export const isBucketName = (value: string): boolean => BUCKET_NAME.test(value);

export const accountIdSchema = z.string().check(z.regex(HEX32));
export const tokenIdSchema = z.string().check(z.regex(HEX32));

/**
 * A secret that cannot be an API token: whitespace or control characters inside mean a pasted
 * secret went wrong, and such a value must never reach fetch, whose error would quote the header.
 */
export const isUnusableToken = (value: string): boolean => /[\s\p{Cc}]/u.test(value);

/**
 * The value with any `user:password@` of a URL shown as `***@`, for messages: such a password was
 * never meant to be printed, and fetch would quote it in its own error.
 */
export const hidingUserInfo = (value: string): string =>
  value.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1***@");

/**
 * An http(s) URL without user info, query or fragment, without its trailing slash; undefined when it
 * is not one.
 */
export function httpUrl(value: string): string | undefined {
  const trimmed = value.trim();
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    return undefined;
  }
  const { protocol, username, password, search, hash } = parsed;
  if ((protocol !== "https:" && protocol !== "http:") || username || password || search || hash) {
    return undefined;
  }
  return trimmed.replace(/\/+$/, "");
}

/** localhost, 127.0.0.0/8 and [::1]: the only hosts plain http may reach, since nothing leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** An http:// URL off loopback: a token or credentials sent there would cross the network unencrypted. */
export function isCleartextRemote(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname);
}
