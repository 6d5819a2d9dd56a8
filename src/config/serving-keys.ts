// The keys of where tscgi listens and what it serves: sockets and their clients, the script root,
// URLs and extensions, the embedded HTTP front.

import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseListen, parseTcpAddress } from "./address.ts";
import { parseClientList } from "./clients.ts";
import { DEFAULT_EXTENSIONS, SCRIPT_EXTENSIONS } from "../scripts/extensions.ts";
import { ValueRejected } from "./errors.ts";
import { GROUP_FILE, PASSWD_FILE } from "./ids.ts";
import { CLIENTS_ALLOWED, integer, owner, type Schema } from "./value-kinds.ts";

export const servingKeys = {
  listen: {
    default: "127.0.0.1:9000",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT or a Unix socket path, port 1-65535",
    description: "address the FastCGI server listens on; a bare PORT means 127.0.0.1:PORT",
    parse: (raw, ctx) => parseListen(raw, ctx.resolvePath),
  },
  listen_backlog: {
    default: "511",
    ...integer(1, 65535),
    description: "connections the kernel queues before they are accepted (capped by net.core.somaxconn)",
  },
  listen_mode: {
    default: "0660",
    metavar: "MODE",
    allowed: "an octal file mode up to 0777, like 0660, 660 or 0o660",
    description: "permissions of a Unix socket in listen",
    parse(raw) {
      const match = /^(?:0o)?([0-7]{1,4})$/i.exec(raw.trim());
      if (match === null) throw new ValueRejected();
      const mode = parseInt(match[1], 8);
      if (mode > 0o777) throw new ValueRejected("the setuid, setgid and sticky bits are not allowed");
      return mode;
    },
  },
  listen_owner: {
    default: "",
    ...owner(PASSWD_FILE, "user"),
    description: "user that owns a Unix socket in listen; empty = the user tscgi runs as",
  },
  listen_group: {
    default: "",
    ...owner(GROUP_FILE, "group"),
    description: "group of a Unix socket in listen; empty = tscgi's own group",
  },
  allowed_clients: {
    default: "any",
    metavar: "LIST",
    allowed: CLIENTS_ALLOWED,
    description: "addresses that may connect over TCP; others are closed at once",
    parse: parseClientList,
  },
  root: {
    default: "cgi-bin",
    metavar: "DIR",
    allowed: "a path to an existing directory",
    description: "directory holding the scripts",
    parse(raw, ctx) {
      if (raw.trim() === "") throw new ValueRejected("it is empty");
      return ctx.resolvePath(raw.trim());
    },
    check(root) {
      let stats;
      try {
        stats = statSync(root);
      } catch {
        throw new ValueRejected(`${root} does not exist`);
      }
      if (!stats.isDirectory()) throw new ValueRejected(`${root} is not a directory`);
    },
  },
  templates: {
    default: "",
    metavar: "DIR",
    allowed: 'a directory path, or "" for templates beside root',
    description: "directory of the templates cgi.render() reads; never served, even inside root",
    parse: (raw, ctx) => (raw.trim() === "" ? null : ctx.resolvePath(raw.trim())),
    check(dir) {
      // It may be created later; a file of that name is a mistake.
      if (dir !== null && statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false)
        throw new ValueRejected(`${dir} is not a directory`);
    },
  },
  mount: {
    default: "/",
    metavar: "PATH",
    allowed: "a URL path starting with /, like / or /app",
    description: "URL prefix the scripts are served under",
    parse(raw) {
      const value = raw.trim();
      if (!value.startsWith("/")) throw new ValueRejected("it must start with /");
      if (/[\s?#%\\]/.test(value)) throw new ValueRejected("it must be a plain path, without spaces, ?, #, % or \\");
      const segments = value.split("/").filter((segment) => segment !== "");
      if (segments.some((segment) => segment === "." || segment === "..")) {
        throw new ValueRejected("it must not contain . or .. segments");
      }
      return "/" + segments.join("/");
    },
  },
  extensions: {
    default: DEFAULT_EXTENSIONS.join(","),
    metavar: "LIST",
    allowed: `a comma-separated list of ${SCRIPT_EXTENSIONS.join(" ")}`,
    description: "file extensions that run as scripts, in the order a URL without one tries them",
    parse(raw) {
      const list = raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
      if (list.length === 0) throw new ValueRejected("the list is empty");
      for (const item of list) {
        if (!SCRIPT_EXTENSIONS.includes(item)) {
          throw new ValueRejected(`"${item}" is not one of them`);
        }
      }
      return [...new Set(list)];
    },
  },
  preload: {
    default: "",
    metavar: "LIST",
    allowed: "a comma-separated list of URL paths of scripts, like /hello,/users/",
    description: "scripts each process loads when it starts, before serving, so their first request is not a cold one",
    parse(raw) {
      const list = raw
        .split(",")
        .map((path) => path.trim())
        .filter((path) => path !== "");
      const bad = list.find((path) => !path.startsWith("/"));
      if (bad !== undefined) throw new ValueRejected(`"${bad}" is not a URL path (it must start with /)`);
      return list;
    },
  },
  index: {
    default: "index",
    metavar: "NAME",
    allowed: "a file name without extension, like index",
    description: "script a URL ending in / runs, e.g. /admin/ runs admin/index.ts",
    parse(raw) {
      const value = raw.trim();
      if (!/^[A-Za-z0-9][\w-]*$/.test(value)) throw new ValueRejected();
      return value;
    },
  },
  cgi_cache_dir: {
    default: "",
    metavar: "DIR",
    allowed: 'a directory path, "" for tscgi-cgi-UID in the system\'s temporary directory, or off',
    description: "where tscgi cgi keeps compiled scripts, so a request does not compile them again",
    parse(raw, ctx) {
      const value = raw.trim();
      if (value.toLowerCase() === "off") return null;
      // Per user: the web server's CGI user must own it (see scripts/disk-cache.ts).
      return value === "" ? join(tmpdir(), `tscgi-cgi-${process.getuid?.() ?? "user"}`) : ctx.resolvePath(value);
    },
  },
  http: {
    default: "off",
    metavar: "ADDR",
    allowed: "HOST:PORT, [IPv6]:PORT, PORT or off",
    description: "address of the embedded HTTP front, for development and trying tscgi without a web server",
    parse(raw) {
      const value = raw.trim();
      return value === "" || value.toLowerCase() === "off" ? null : parseTcpAddress(value);
    },
  },
} satisfies Partial<Schema>;
