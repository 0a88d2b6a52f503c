/// <reference types="node" />
/**
 * Node-side access to seatflow's local bindings (D1, queue) through wrangler's getPlatformProxy: the same
 * miniflare persistence that `wrangler dev` and `wrangler d1 migrations apply --local` use, so the CLI can run
 * while `npm start` serves. Everything wrangler/miniflare print goes to stderr: stdout is kept for results.
 */
import path from "node:path";
import process from "node:process";

process.env.WRANGLER_SEND_METRICS ??= "false";

const realStdoutWrite = process.stdout.write.bind(process.stdout);

/** Sends every later stdout write (console.log, miniflare/workerd logs) to stderr. */
export function quietStdout() {
  (process.stdout as { write: unknown }).write = process.stderr.write.bind(process.stderr);
}

/** Writes one result line to the real stdout. */
export function emit(line: string) {
  realStdoutWrite(`${line}\n`);
}

export const projectRoot = path.resolve(import.meta.dirname, "..");

export type Platform = { env: Env; dispose: () => Promise<void> };

/**
 * Opens the local bindings. `persistTo` is what `wrangler --persist-to` takes (default `.wrangler/state`);
 * miniflare keeps its data in `<persistTo>/v3`.
 */
export async function openPlatform(persistTo?: string): Promise<Platform> {
  const { getPlatformProxy } = await import("wrangler");
  const root = path.resolve(process.cwd(), persistTo ?? path.join(projectRoot, ".wrangler/state"));
  const proxy = await getPlatformProxy<Env>({
    configPath: path.join(projectRoot, "wrangler.toml"),
    persist: { path: path.join(root, "v3") },
    remoteBindings: false,
  });
  return { env: proxy.env, dispose: () => proxy.dispose() };
}
