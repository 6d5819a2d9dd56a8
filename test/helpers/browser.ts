// A visitor with a cookie jar: fetch() without following redirects, cookies kept as a browser keeps them.

export interface Page {
  status: number;
  headers: Headers;
  body: string;
  /** The Location header of a redirect, "" when there is none. */
  location: string;
}

export class Browser {
  readonly #base: string;
  readonly #cookies = new Map<string, string>();

  constructor(base: string) {
    this.#base = base;
  }

  /** The cookies as a Cookie header would send them. */
  get cookieHeader(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** Another visitor holding this one's cookies (a stolen or a restored session). */
  clone(): Browser {
    const other = new Browser(this.#base);
    for (const [name, value] of this.#cookies) other.#cookies.set(name, value);
    return other;
  }

  get(path: string): Promise<Page> {
    return this.#send(path, { method: "GET" });
  }

  /** A urlencoded form POST, as a browser sends a <form method="post">. */
  post(path: string, fields: Record<string, string>): Promise<Page> {
    return this.#send(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async #send(path: string, init: RequestInit): Promise<Page> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set("Cookie", this.cookieHeader);
    const res = await fetch(this.#base + path, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) this.#store(line);
    return { status: res.status, headers: res.headers, body: await res.text(), location: res.headers.get("location") ?? "" };
  }

  #store(setCookie: string): void {
    const [pair = "", ...attributes] = setCookie.split(";").map((part) => part.trim());
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const gone = attributes.some((a) => /^max-age=(0|-\d+)$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
    if (gone || value === "") this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }
}

/** The value of the first hidden `csrf` field on a page. */
export function csrfField(html: string): string {
  const token = /name="csrf" value="([^"]*)"/.exec(html)?.[1];
  if (token === undefined) throw new Error(`no csrf field on the page:\n${html}`);
  return token;
}
