// The page's side: ask the server for a presigned PUT URL, send the file straight to R2 with it, then
// read the object back through a presigned GET URL and compare. Plain browser JavaScript, no build.
//
// A presigned PUT from a page on another origin only works when the bucket's CORS policy allows this
// page's origin, the PUT method and the content-type header (r2-ephemeral-credentials cors set).
// Without it the browser's preflight is refused and fetch fails with nothing but a TypeError, which is
// why the message below names CORS.

const form = document.getElementById("upload-form");
const input = document.getElementById("file");
const statusLine = document.getElementById("status");
const uploads = document.getElementById("uploads");

function show(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

/** POST /api/presign { method, name | key } → { key, url, expiresAt } from the server. */
async function presign(request) {
  const res = await fetch("/api/presign", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `the server answered ${res.status}`);
  return body;
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function upload(file) {
  show("busy", `Asking for an upload URL for ${file.name}…`);
  const put = await presign({ method: "PUT", name: file.name });

  show("busy", `Uploading ${file.size} bytes to ${put.key}…`);
  let stored;
  try {
    stored = await fetch(put.url, {
      method: "PUT",
      body: file,
      headers: { "content-type": file.type || "application/octet-stream" },
    });
  } catch (error) {
    throw new Error(
      `The browser refused the upload (${error.message}). This is almost always the bucket's CORS policy: ` +
        `it must allow the origin ${location.origin}, the method PUT and the header content-type.`,
    );
  }
  if (!stored.ok) throw new Error(`R2 refused the upload: HTTP ${stored.status} ${await stored.text()}`);

  show("busy", `Reading ${put.key} back…`);
  const get = await presign({ method: "GET", key: put.key });
  const back = await fetch(get.url);
  if (!back.ok) throw new Error(`R2 refused the read: HTTP ${back.status}`);
  const [sent, received] = await Promise.all([
    file.arrayBuffer().then((b) => new Uint8Array(b)),
    back.arrayBuffer().then((b) => new Uint8Array(b)),
  ]);
  if (!sameBytes(sent, received)) throw new Error(`${put.key} came back different from what was sent`);

  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = get.url;
  link.textContent = put.key;
  item.append(link, ` (${received.length} bytes, link valid until ${get.expiresAt})`);
  uploads.append(item);
  show(
    "ok",
    `Uploaded ${put.key}: ${sent.length} bytes sent, ${received.length} bytes read back, identical.`,
  );
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const [file] = input.files;
  if (!file) return;
  upload(file).catch((error) => show("error", error.message));
});
