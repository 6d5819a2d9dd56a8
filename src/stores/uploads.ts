// The FormParser that streams a form body through busboy: fields kept in memory (within their
// limits), files written to a per-request directory under upload_tmp_dir, never held whole.
import type { BusboyConstructor, BusboyFileStream } from "@fastify/busboy";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { BodyTooLargeError } from "../cgi/errors.ts";
import {
  FormFieldTooLargeError,
  FormContentTypeError,
  FormMalformedError,
  FormTooManyFieldsError,
  UploadTooManyFilesError,
  UploadStorageError,
  UploadTooLargeError,
} from "../runtime/errors.ts";
import { SpoolWriter } from "./spool-writer.ts";
import { Form, type FormInput, type FormParser, type ParsedForm, type UploadedFile } from "../runtime/form.ts";

const URLENCODED = "application/x-www-form-urlencoded";
const MULTIPART = "multipart/form-data";
const NOTHING: ParsedForm = { form: new Form([]), cleanup: async () => {} };

class SpooledFile implements UploadedFile {
  size = 0;
  constructor(
    readonly field: string,
    readonly name: string,
    readonly type: string,
    public path: string,
  ) {}

  async move(to: string): Promise<string> {
    try {
      await rename(this.path, to);
    } catch (error) {
      // rename cannot cross file systems (the temp dir is often on another one): copy, then delete.
      if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
      await copyFile(this.path, to);
      await unlink(this.path);
    }
    this.path = to;
    return to;
  }
}

// busboy costs a worker about 5 MiB and a few hundred ms to load: only when a form comes.
let busboy: Promise<BusboyConstructor> | undefined;

/** The limit a busboy `limits` field gets: ours, or Infinity for "no limit" (0). */
const orInfinity = (n: number) => (n > 0 ? n : Infinity);

export class UploadSpooler implements FormParser {
  /** `tmpDir`: upload_tmp_dir, created (mode 0700) on the first upload. */
  constructor(readonly tmpDir: string) {}

  async parse(input: FormInput): Promise<ParsedForm> {
    const type = input.contentType.split(";")[0].trim().toLowerCase();
    if (input.body === null || type === "") return NOTHING;
    if (type !== URLENCODED && type !== MULTIPART) throw new FormContentTypeError(type);
    const { limits } = input;
    if (type === URLENCODED) return { form: await parseUrlencoded(input.body, limits), cleanup: async () => {} };
    const fields: Array<[string, string]> = [];
    const files: SpooledFile[] = [];
    const spooling: Promise<void>[] = [];
    const open = new Set<BusboyFileStream>();
    let dir: Promise<string> | null = null;
    // Set from the parser's callbacks: declared so that TypeScript does not narrow it to null here.
    let failure = null as Error | null;
    let wake: (() => void) | null = null;
    const writer = new SpoolWriter(input.release);
    // The writer gives back every chunk once busboy and the disk are done with it.
    input.lend?.();

    // The package is CommonJS; its module.exports.Busboy is the constructor.
    const Busboy = await (busboy ??= import("@fastify/busboy").then(
      (module) => (module as unknown as { Busboy: BusboyConstructor }).Busboy,
    ));
    let parser;
    try {
      parser = Busboy({
        headers: { "content-type": input.contentType },
        defCharset: "utf8",
        limits: {
          fieldNameSize: limits.maxFieldSize,
          fieldSize: limits.maxFieldSize,
          fileSize: orInfinity(limits.maxFileSize),
          // Field and file counts are checked in the handlers below: busboy's urlencoded parser
          // drops fields past its limit without a word when they come in the same chunk.
        },
      });
    } catch (error) {
      throw new FormMalformedError((error as Error).message);
    }

    const fail = (error: Error) => {
      failure ??= error;
      for (const stream of open) stream.destroy(failure);
      wake?.();
    };

    parser.on("field", (name, value, nameTruncated, valueTruncated) => {
      if (nameTruncated || valueTruncated) fail(new FormFieldTooLargeError(name, limits.maxFieldSize));
      else if (fields.length === limits.maxFields) fail(new FormTooManyFieldsError(limits.maxFields));
      else fields.push([name, value]);
    });
    parser.on("file", (field, stream, filename, _encoding, mimeType) => {
      if (files.length === limits.maxFiles) fail(new UploadTooManyFilesError(limits.maxFiles));
      if (failure !== null) {
        stream.resume();
        return;
      }
      open.add(stream);
      // The failure fail() destroys the stream with is reported once, by parse.
      stream.on("error", () => {});
      stream.on("limit", () => fail(new UploadTooLargeError(field, limits.maxFileSize)));
      const file = new SpooledFile(field, filename ?? "", mimeType || "application/octet-stream", "");
      files.push(file);
      const index = files.length - 1;
      dir ??= this.#requestDir();
      const path = dir.then((at) => (file.path = join(at, `upload-${index}`)));
      // Listened to at once: every byte busboy cuts from a body chunk is counted before the chunk is given back.
      spooling.push(
        writer
          .spool(stream, path, () => open.delete(stream))
          .then((size) => void (file.size = size))
          .catch((error: NodeJS.ErrnoException) => {
            // A stream destroyed by fail() rejects with the failure itself; anything else is the disk.
            if (failure === null)
              fail(typeof error.code === "string" && error.syscall !== undefined ? new UploadStorageError(this.tmpDir, error) : error);
          }),
      );
    });
    const parsed = new Promise<void>((resolve) => {
      parser.on("finish", resolve);
      parser.on("error", (error: Error) => {
        fail(new FormMalformedError(error.message));
        resolve();
      });
    });

    const stopListening = input.onAbort?.((reason) => fail(reason instanceof Error ? reason : new Error("request aborted")));
    try {
      let received = 0;
      for await (const chunk of input.body) {
        if (failure !== null) break;
        received += chunk.byteLength;
        if (limits.maxBodySize > 0 && received > limits.maxBodySize) {
          fail(new BodyTooLargeError(limits.maxBodySize));
          break;
        }
        // Given back once busboy consumed it and every file byte cut from it is on disk.
        const written = parser.write(chunk, () => writer.hold(chunk, open));
        // Busboy pushes back through write(), and the writer once the disk lags: either slows the read.
        if (!written || writer.behind) {
          await Promise.race([written ? writer.caughtUp() : once(parser, "drain"), new Promise<void>((resolve) => (wake = resolve))]);
          wake = null;
        }
      }
      if (failure === null) {
        parser.end();
        await Promise.race([parsed, new Promise<void>((resolve) => (wake = resolve))]);
      }
    } catch (error) {
      // The body itself failed: too large by the context's own count, or the client went away.
      fail(error as Error);
    } finally {
      stopListening?.();
    }
    await Promise.allSettled(spooling);
    const cleanup = async () => {
      const path = dir === null ? null : await dir.catch(() => null);
      if (path !== null) await rm(path, { recursive: true, force: true }).catch(() => {});
    };
    if (failure !== null) {
      parser.destroy();
      await cleanup();
      throw failure;
    }
    // A file input left empty is sent as a part with no name and no bytes: not an upload (PHP's UPLOAD_ERR_NO_FILE).
    const uploaded = files.filter((file) => file.name !== "" || file.size > 0);
    return { form: new Form(fields, uploaded), cleanup };
  }

  /** A fresh 0700 directory for this request's files, so cleanup removes exactly what it wrote. */
  async #requestDir(): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.tmpDir, "req-"));
  }
}

/**
 * A urlencoded body, parsed whole: it has no files, so nothing streams to disk, and reading it
 * at once is several times faster per request than busboy's streaming parser. Memory is bounded
 * by max_body_size, as cgi.text() is.
 */
async function parseUrlencoded(body: AsyncIterable<Uint8Array>, limits: FormInput["limits"]): Promise<Form> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    received += chunk.byteLength;
    if (limits.maxBodySize > 0 && received > limits.maxBodySize) throw new BodyTooLargeError(limits.maxBodySize);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  const fields: Array<[string, string]> = [];
  // WHATWG's application/x-www-form-urlencoded parser: "+" is a space, bad percent escapes stay as they are.
  for (const [name, value] of new URLSearchParams(Buffer.concat(chunks, received).toString("utf8"))) {
    if (Buffer.byteLength(name) > limits.maxFieldSize || Buffer.byteLength(value) > limits.maxFieldSize) {
      throw new FormFieldTooLargeError(name, limits.maxFieldSize);
    }
    if (fields.length === limits.maxFields) throw new FormTooManyFieldsError(limits.maxFields);
    fields.push([name, value]);
  }
  return new Form(fields);
}
