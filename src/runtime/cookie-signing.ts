// Signed cookies: HMAC-SHA256 with Web Crypto (no node:* here), signed with the first of
// cookie_secret's keys and accepted under any of them, so keys can rotate.
import { CookieSecretMissingError } from "./errors.ts";

const SEPARATOR = ".";
const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** null when the text is not base64url. */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

export class CookieSigner {
  readonly #secrets: readonly string[];
  readonly #keys = new Map<string, Promise<CryptoKey>>();

  /** `secrets`: cookie_secret's list, newest first. */
  constructor(secrets: readonly string[]) {
    this.#secrets = secrets;
  }

  /** False while cookie_secret is empty: signing and checking throw TSCGI_E_API_COOKIE_SECRET_MISSING. */
  get canSign(): boolean {
    return this.#secrets.length > 0;
  }

  #key(secret: string): Promise<CryptoKey> {
    let key = this.#keys.get(secret);
    if (key === undefined) {
      key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
      this.#keys.set(secret, key);
    }
    return key;
  }

  /** `value.signature`. The name is signed too, so a value signed for one cookie is refused in another. */
  async sign(name: string, value: string): Promise<string> {
    const secret = this.#secrets[0];
    if (secret === undefined) throw new CookieSecretMissingError(name);
    const mac = await crypto.subtle.sign("HMAC", await this.#key(secret), encoder.encode(`${name}=${value}`));
    return value + SEPARATOR + toBase64Url(new Uint8Array(mac));
  }

  /** The value a signed cookie carries, or undefined when it is missing, unsigned or tampered with. */
  async verify(name: string, signed: string | undefined): Promise<string | undefined> {
    if (this.#secrets.length === 0) throw new CookieSecretMissingError(name);
    if (signed === undefined) return undefined;
    const dot = signed.lastIndexOf(SEPARATOR);
    if (dot === -1) return undefined;
    const value = signed.slice(0, dot);
    const mac = fromBase64Url(signed.slice(dot + 1));
    // SHA-256 MACs are 32 bytes; a shorter one is not ours (and verify would just say no).
    if (mac === null || mac.length !== 32) return undefined;
    const data = encoder.encode(`${name}=${value}`);
    for (const secret of this.#secrets) {
      // subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", await this.#key(secret), mac, data)) return value;
    }
    return undefined;
  }
}
