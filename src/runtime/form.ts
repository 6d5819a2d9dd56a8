// A parsed form (PHP's $_POST and $_FILES in one typed object) and the interface of the parser
// that fills it; the parser that spools uploads to disk lives in src/stores/uploads.ts.

/** A file from a multipart form, already on disk in a per-request temporary directory. */
export interface UploadedFile {
  /** The form field it came in. */
  readonly field: string;
  /** The file name the client gave, without any directory part; may be "". Never use it as a path unchecked. */
  readonly name: string;
  /** The MIME type the client claimed: a hint, not a fact. */
  readonly type: string;
  /** Bytes received. */
  readonly size: number;
  /** Where the file is now: the temporary file, or where move() put it. */
  readonly path: string;
  /**
   * Moves the file out of the temporary directory (PHP's move_uploaded_file); a file not moved
   * is deleted when the request ends. Resolves to the new path.
   */
  move(to: string): Promise<string>;
}

/** Limits a parser enforces while it reads; each is a config key (docs/config.md). */
export interface FormLimits {
  /** upload_max_file_size: bytes in one file. */
  maxFileSize: number;
  /** upload_max_files: files in one form. */
  maxFiles: number;
  /** form_max_fields: fields (not files) in one form. */
  maxFields: number;
  /** form_max_field_size: bytes in one field's name or value. */
  maxFieldSize: number;
  /** max_body_size: bytes in the whole body; 0 = unlimited. */
  maxBodySize: number;
}

export interface FormInput {
  /** CONTENT_TYPE, with its boundary and charset parameters. */
  contentType: string;
  /** The request body; null when there is none. */
  body: AsyncIterable<Uint8Array> | null;
  limits: FormLimits;
  /** Calls the listener once if the request is aborted (see Exchange.onAbort); returns its remover. */
  onAbort?: (listener: (reason: unknown) => void) => () => void;
  /** Gives back a body chunk the parser no longer holds any view of, so its memory can be reused. */
  release?: (chunk: Uint8Array) => void;
  /** Called before the first read by a parser that gives back (release) every chunk it reads: none is then copied for it to keep. */
  lend?: () => void;
}

export interface ParsedForm {
  form: Form;
  /** Deletes every uploaded file not moved. Call once, when the request ends; never throws. */
  cleanup: () => Promise<void>;
}

/**
 * Reads a urlencoded or multipart body into a Form. On any failure (a limit: 413, malformed: 400,
 * another type: 415) it rejects with a coded error after deleting whatever it wrote.
 */
export interface FormParser {
  parse(input: FormInput): Promise<ParsedForm>;
}

/** A value of Form.nested(): text, a file, or a list or map of these. */
export type NestedValue = string | UploadedFile | NestedValue[] | NestedObject;
export interface NestedObject {
  [key: string]: NestedValue;
}

// PHP's name syntax: a base, then [key] or [] segments.
const BRACKETS = /^([^[\]]+)((?:\[[^[\]]*\])+)$/;

/** The fields and files of a submitted form, in the order sent. Field access mirrors URLSearchParams. */
export class Form {
  readonly #fields: ReadonlyArray<readonly [string, string]>;
  /** Every uploaded file, in the order sent. */
  readonly files: readonly UploadedFile[];

  constructor(fields: ReadonlyArray<readonly [string, string]>, files: readonly UploadedFile[] = []) {
    this.#fields = fields;
    this.files = files;
  }

  /** The first value of a field, or null. */
  get(name: string): string | null {
    for (const [key, value] of this.#fields) if (key === name) return value;
    return null;
  }

  /** Every value of a field (checkboxes, multiple selects), possibly none. */
  getAll(name: string): string[] {
    return this.#fields.filter(([key]) => key === name).map(([, value]) => value);
  }

  /** True when a field or a file of that name was sent. */
  has(name: string): boolean {
    return this.#fields.some(([key]) => key === name) || this.files.some((file) => file.field === name);
  }

  /** The first file of a field, or null. */
  file(name: string): UploadedFile | null {
    return this.files.find((file) => file.field === name) ?? null;
  }

  /** Every file of a field (`<input type="file" multiple>`). */
  getFiles(name: string): UploadedFile[] {
    return this.files.filter((file) => file.field === name);
  }

  /** [name, value] of each field, repeated names included. */
  *entries(): IterableIterator<[string, string]> {
    for (const [key, value] of this.#fields) yield [key, value];
  }

  *keys(): IterableIterator<string> {
    for (const [key] of this.#fields) yield key;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /**
   * Fields and files as PHP builds $_POST: `a[]=1&a[]=2` is `{a: ["1", "2"]}`, `u[name]=x` is
   * `{u: {name: "x"}}`; a plain name repeated keeps its last value, as in PHP. Objects have no
   * prototype, so a field named `__proto__` or `constructor` is only data.
   */
  nested(): NestedObject {
    const root: NestedObject = Object.create(null) as NestedObject;
    for (const [name, value] of this.#fields) assign(root, name, value);
    for (const file of this.files) assign(root, file.field, file);
    return listsAsArrays(root);
  }
}

/** A map made by nested(); files and text are leaves. */
function isMap(value: NestedValue | undefined): value is NestedObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === null;
}

/** PHP's next free integer key: one past the largest integer key so far. */
function nextIndex(map: NestedObject): string {
  let next = 0;
  for (const key of Object.keys(map)) if (/^\d+$/.test(key) && Number(key) >= next) next = Number(key) + 1;
  return String(next);
}

/** Walks `a[b][]` down from root, making maps where needed, and stores the value at the end. */
function assign(root: NestedObject, name: string, value: NestedValue): void {
  // Most fields are plain names: no regular expression or key list for them.
  if (name !== "" && name.indexOf("[") === -1) {
    root[name] = value;
    return;
  }
  const match = BRACKETS.exec(name);
  const keys = match === null ? [name] : [match[1], ...match[2].slice(1, -1).split("][")];
  let map = root;
  // Iterative, not recursive: the depth is bounded only by form_max_field_size.
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i] === "" ? nextIndex(map) : keys[i];
    const child = map[key];
    // Text or a file in the way is replaced, as a later PHP assignment replaces an earlier one.
    if (isMap(child)) map = child;
    else map = map[key] = Object.create(null) as NestedObject;
  }
  const last = keys[keys.length - 1];
  map[last === "" ? nextIndex(map) : last] = value;
}

/** Maps whose keys are exactly "0", "1", ... become arrays (PHP's lists), children first, without recursion. */
function listsAsArrays(root: NestedObject): NestedObject {
  const found: Array<[NestedObject, string]> = [];
  const queue: NestedObject[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const map = queue[i];
    // for-in over a prototype-less map: its own keys, in Object.keys order, without an entries array.
    for (const key in map) {
      const child = map[key];
      if (isMap(child)) {
        found.push([map, key]);
        queue.push(child);
      }
    }
  }
  for (let i = found.length - 1; i >= 0; i--) {
    const [parent, key] = found[i];
    const map = parent[key] as NestedObject;
    const keys = Object.keys(map);
    if (keys.every((k, index) => k === String(index))) parent[key] = Object.values(map);
  }
  return root;
}
