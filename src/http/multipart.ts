// The multipart/form-data body of a message with files, built so that each file's bytes go out as they are.
//
// @discordjs/rest copies every file into a Blob before it builds its form, and undici then reads that Blob into
// further copies while it sends: three copies of each result alive at once besides the bot's own, at hundreds of
// results a minute most of the native memory the bot churns through (and glibc keeps). Here a file is a blob-like
// view of the bot's buffer, read out in small pieces: undici copies each piece as it writes it, so nothing of the
// size of a result is allocated again, and a retry of the request reads the same bytes once more.

export interface MultipartFile {
  name: string;
  data: Uint8Array;
  contentType: string;
}

/** Bytes handed to undici per read: small enough to stay out of the way of large allocations. */
const PIECE_BYTES = 64 * 1024;

/** The form Discord expects: `payload_json` and `files[n]` (n matching the payload's `attachments[].id`). */
export function multipartForm(payload: unknown, files: readonly MultipartFile[], Form: typeof FormData = FormData): FormData {
  const form = new Form();
  files.forEach((file, i) => appendFile(form, `files[${i}]`, file));
  form.append('payload_json', JSON.stringify(payload));
  return form;
}

function appendFile(form: FormData, name: string, file: MultipartFile): void {
  try {
    form.append(name, blobView(file.data, file.contentType), file.name);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // A FormData that takes only real Blobs (undici 7's, Node 24's global one) refuses the view: the upload still
    // goes, with one copy of the bytes.
    form.append(name, new Blob([file.data], { type: file.contentType }), file.name);
  }
}

/**
 * What undici's FormData accepts as a Blob (the tag and `stream()`; it wraps it in a File without reading it) and
 * what its multipart encoder reads from (`size`, `type`, `stream()`), over the caller's bytes without copying them.
 */
function blobView(data: Uint8Array, type: string): Blob {
  const view = {
    [Symbol.toStringTag]: 'Blob',
    size: data.byteLength,
    type,
    async *stream(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < data.byteLength; at += PIECE_BYTES) yield data.subarray(at, at + PIECE_BYTES);
    },
    // A copy of just these bytes: a Buffer's slice() is a view, and its .buffer may be a larger pooled one.
    arrayBuffer: () => Promise.resolve(new Uint8Array(data).buffer),
  };
  // Not a Blob for TypeScript; FormData and undici check only the shape above, which is the point (no copy).
  return view as unknown as Blob;
}
