// npm start: apply the D1 migrations locally, seed the demo tenant when the database is empty, print a working
// GlobalAdministrator key, then serve API + UI with `wrangler dev` on http://127.0.0.1:8787.
// Plain JS on purpose: it only orchestrates child processes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => path.join(root, "node_modules", ".bin", process.platform === "win32" ? `${name}.cmd` : name);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
// The CLI is TypeScript run by Node 22's type stripping: use the devDependency `node@22` even when this file was
// started by an older Node directly (npm scripts already put it first on PATH).
const node = existsSync(bin("node")) ? bin("node") : process.execPath;
const port = process.env.PORT ?? "8787";

let child;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopping = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    else process.exit(130);
  });
}

/** Runs a command to completion; resolves with its captured stdout (when piped). */
function run(command, args, { captureStdout = false } = {}) {
  return new Promise((resolve, reject) => {
    child = spawn(command, args, { cwd: root, env, stdio: ["ignore", captureStdout ? "pipe" : "inherit", "inherit"] });
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      child = undefined;
      if (stopping) process.exit(130);
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(command)} ${args[0] ?? ""} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

try {
  console.log("seatflow: applying D1 migrations (local)…");
  await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"]);

  console.log("seatflow: seeding the demo tenant if the database is empty…");
  const out = await run(node, [path.join(root, "scripts", "cli.ts"), "seed"], { captureStdout: true });
  const key = out.trim().split("\n").pop()?.trim();
  if (!key?.startsWith("sf_")) throw new Error(`the seed printed no API key (got: ${JSON.stringify(out)})`);

  const line = "─".repeat(72);
  console.log(`\n${line}
 seatflow demo tenant "Contoso" — GlobalAdministrator API key:

   export KEY=${key}

 API   http://127.0.0.1:${port}/v1.0/…   (Authorization: Bearer $KEY)
 Docs  http://127.0.0.1:${port}/docs      OpenAPI  http://127.0.0.1:${port}/openapi.json
 The key is kept in .wrangler/state/seatflow-demo-key.json; rm -rf .wrangler resets everything.
${line}\n`);

  // Serve until Ctrl-C; signals are forwarded to wrangler, whose exit code becomes ours.
  child = spawn(bin("wrangler"), ["dev", "--ip", "127.0.0.1", "--port", port, ...process.argv.slice(2)], {
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
