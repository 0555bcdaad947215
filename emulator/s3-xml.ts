// Tiny XML helpers for the S3 wire format. The S3 bodies we read (DeleteObjects,
// CompleteMultipartUpload) are flat enough that a full XML parser would be overkill.

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function unesc(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] ?? "";
  });
}

export const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** `<Name>value</Name>` with the value escaped; undefined values produce nothing. */
export function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? "" : `<${name}>${esc(String(value))}</${name}>`;
}

export function errorXml(code: string, message: string, resource?: string): string {
  return `${XML_HEAD}<Error>${el("Code", code)}${el("Message", message)}${el("Resource", resource)}</Error>`;
}

/** All `<tag>…</tag>` blocks (non-nested) in document order. */
export function blocks(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1] ?? "");
}

export function text(xml: string, tag: string): string | undefined {
  const b = blocks(xml, tag)[0];
  return b === undefined ? undefined : unesc(b);
}
