// listen_owner / listen_group: a user or group name, or a numeric id, resolved to the id
// chown(2) takes.

import { readFileSync } from "node:fs";
import { ValueRejected } from "./errors.ts";

export const PASSWD_FILE = "/etc/passwd";
export const GROUP_FILE = "/etc/group";

/** uid_t and gid_t are 32 bits; (uid_t)-1 means "leave unchanged" to chown(2), so it is not an id. */
const MAX_ID = 2 ** 32 - 2;

/** "" is null (the process's own), digits are an id as written, anything else a name to look up. */
export function parseIdOrName(raw: string): number | string | null {
  const value = raw.trim();
  if (value === "") return null;
  if (/^\d+$/.test(value)) {
    const id = Number(value);
    if (id > MAX_ID) throw new ValueRejected(`${value} is above the largest id, ${MAX_ID}`);
    return id;
  }
  // The characters useradd(8) allows, plus a trailing $ (Samba machine accounts).
  if (!/^[A-Za-z_][\w.-]*\$?$/.test(value)) throw new ValueRejected(`"${value}" is not a valid name`);
  return value;
}

/** The id of `name` in passwd(5) or group(5) text (name:password:id:...), or null if it is not listed. */
export function findId(text: string, name: string): number | null {
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name && fields.length > 2 && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  return null;
}

/**
 * A name looked up in `file` (/etc/passwd or /etc/group); an id is returned as it is. Only the
 * files are read: users known only to LDAP or other NSS sources need their numeric id.
 */
export function resolveId(value: number | string | null, file: string, what: "user" | "group"): number | null {
  if (typeof value !== "string") return value;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ValueRejected(`${file} cannot be read to look up the ${what} ${value}; give its numeric id`);
  }
  const id = findId(text, value);
  if (id === null) throw new ValueRejected(`no ${what} named ${value} in ${file}`);
  return id;
}
