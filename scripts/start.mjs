// npm start: apply the D1 migrations locally, seed the demo tenant when the database is empty, print a working
// GlobalAdministrator key, then serve API + UI with `wrangler dev` on http://127.0.0.1:8787 (PORT to change it).
// Options: --https (wrangler's --local-protocol https, with its self-signed certificate), --persist-to <dir> (another
// local state directory, for migrations, seed and server alike); anything else goes to `wrangler dev` as is.
// Plain JS on purpose: it only orchestrates child processes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
// Offline, wrangler dev's look-up of workers.cloudflare.com (for the `Request.cf` placeholder, which seatflow does not
// read) prints a DNS error stack that looks like a failure; not looking it up at all keeps the output quiet.
const env = { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env, WRANGLER_SEND_METRICS: "false" };
// The CLI is TypeScript run by Node 22's type stripping: use the devDependency `node@22` even when this file was
// started by an older Node directly (npm scripts already put it first on PATH).
const node = existsSync(bin("node")) ? bin("node") : process.execPath;
const port = process.env.PORT ?? "8787";

/** A path as the user would type it: relative inside the project, absolute outside. */
const shown = (file) => {
  const relative = path.relative(root, file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
};

/** start's own options, taken out of the arguments; the rest is wrangler dev's. */
function parseOptions(args) {
  const devArgs = [];
  let https = false;
  let persistTo;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--https") https = true;
    else if (arg === "--persist-to") persistTo = args[++i];
    else if (arg.startsWith("--persist-to=")) persistTo = arg.slice("--persist-to=".length);
    else if (arg === "--local-protocol" && args[i + 1] === "https") {
      https = true;
      i++;
    } else if (arg === "--local-protocol=https") https = true;
    else devArgs.push(arg);
  }
  if (persistTo === "") throw new Error("--persist-to needs a directory");
  // npm runs scripts from the package root; a relative path means where the user typed the command.
  const state = persistTo ? path.resolve(process.env.INIT_CWD ?? process.cwd(), persistTo) : undefined;
  return { https, state, devArgs };
}

let child;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopping = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    else process.exit(130);
  });
}

/**
 * Runs a command to completion; resolves with its captured stdout (when piped). With `quiet`, stderr is captured too
 * and printed only if the command fails.
 */
function run(command, args, { captureStdout = false, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const stdio = ["ignore", captureStdout || quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"];
    child = spawn(command, args, { cwd: root, env, stdio });
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk) => {
      out += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      child = undefined;
      if (stopping) process.exit(130);
      if (code === 0) resolve(out);
      else {
        if (quiet) process.stderr.write(out);
        reject(new Error(`${path.basename(command)} ${args[0] ?? ""} failed (${signal ?? `exit ${code}`})`));
      }
    });
  });
}

try {
  const { https, state, devArgs } = parseOptions(process.argv.slice(2));
  const persist = state ? ["--persist-to", state] : [];

  // wrangler prints a table of every migration after each one it applies (a dozen tables on a first start): keep
  // its output for a failure and say in one line what happened.
  const applied = await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", ...persist], {
    quiet: true,
  });
  const count = /About to apply (\d+) migration/.exec(applied)?.[1];
  console.log(`seatflow: D1 migrations (local): ${count ? `${count} applied` : "up to date"}`);

  console.log("seatflow: seeding the demo tenant if the database is empty…");
  const out = await run(node, [path.join(root, "scripts", "cli.ts"), "seed", ...persist], { captureStdout: true });
  const key = out.trim().split("\n").pop()?.trim();
  if (!key?.startsWith("sf_")) throw new Error(`the seed printed no API key (got: ${JSON.stringify(out)})`);

  const line = "─".repeat(72);
  const base = `${https ? "https" : "http"}://127.0.0.1:${port}`;
  const keyFile = shown(path.join(state ?? path.join(root, ".wrangler", "state"), "seatflow-demo-key.json"));
  console.log(`\n${line}
 seatflow demo tenant "Contoso" — GlobalAdministrator API key:

   export KEY=${key}

 API   ${base}/v1.0/…   (Authorization: Bearer $KEY)
 Docs  ${base}/docs      OpenAPI  ${base}/openapi.json${
   https ? "\n HTTPS with wrangler's self-signed certificate: curl -k, or trust it in your client." : ""
 }
 The key is kept in ${keyFile}; ${state ? `rm -rf ${shown(state)}` : "rm -rf .wrangler"} resets everything.
${line}\n`);

  // Serve until Ctrl-C; signals are forwarded to wrangler, whose exit code becomes ours.
  const devOptions = [...(https ? ["--local-protocol", "https"] : []), ...persist, ...devArgs];
  child = spawn(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, ...devOptions], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  child.on("error", (error) => {
    console.error(`seatflow: cannot start wrangler dev: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal ? (stopping ? 0 : 1) : 0));
  });
} catch (error) {
  console.error(`seatflow: ${error.message}`);
  process.exit(1);
}
