/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";

// The architecture, checked on the source (docs/architecture.md explains it): domain files import only downward along
// the capability order, transports (routes, handlers, views, schemas, middleware, the entry files) may import any
// capability's verbs and views, only store files hold SQL, pure rule files import nothing with I/O, and no two files
// import each other round a cycle.

const sources = import.meta.glob("../../functions/**/*.ts", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
const files = new Map(Object.entries(sources).map(([path, text]) => [path.replace("../../functions/", ""), text]));

/** The capability order: a domain file may import from its own folder and from folders of a lower rank only. */
const LAYERS: Record<string, number> = {
  core: 0,
  audit: 1,
  jobs: 2,
  tenancy: 3,
  catalog: 4,
  subscriptions: 5,
  directory: 6,
  licensing: 7,
  lifecycle: 8,
  hr: 9,
  scim: 9,
  retention: 9,
  admin: 9,
};

/** Folders whose every file is a transport (it speaks HTTP or wires the Worker together). */
const TRANSPORT_FOLDERS = new Set(["middleware", "."]);
const TRANSPORT_FILE = /(^|-)(routes|handlers|views|schemas|pages?|index)\.tsx?$/;
const STORE_FILE = /(^|-)store\.ts$/;
/** Pure modules: no I/O, no clock, no randomness; they import only other pure modules. */
const PURE_FILE = /(^|-)rules?\.ts$|^core\/(odata-filter|odata-search|errors|sql)\.ts$|^directory\/user-fields\.ts$/;

/** Where SQL is written outside a store file, and why that is right. */
const SQL_ALLOWED = new Set<string>([]);

const folderOf = (file: string) => (file.includes("/") ? file.slice(0, file.indexOf("/")) : ".");
const baseOf = (file: string) => file.slice(file.lastIndexOf("/") + 1);
const isTransport = (file: string) => TRANSPORT_FOLDERS.has(folderOf(file)) || TRANSPORT_FILE.test(baseOf(file));
const isPure = (file: string) => PURE_FILE.test(file) || PURE_FILE.test(baseOf(file));

type Import = { from: string; to: string; typeOnly: boolean };

/** Resolves a relative specifier against the importing file; null for packages and for files outside functions/. */
function resolve(from: string, specifier: string): string | null {
  if (!specifier.startsWith(".")) return null;
  const parts = from.split("/").slice(0, -1);
  for (const segment of specifier.split("/")) {
    if (segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(segment);
  }
  return parts.join("/");
}

function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const pattern = /^(import|export)\s+(type\s+)?(?:[^;]*?\sfrom\s+)?"([^"]+)";/gms;
  for (const match of text.matchAll(pattern)) {
    const to = resolve(file, match[3]!);
    if (to !== null) out.push({ from: file, to, typeOnly: match[2] !== undefined });
  }
  return out;
}

const allImports = [...files].flatMap(([file, text]) => importsOf(file, text));

/** The arrows that break the layering (the last test runs it on made-up imports). */
function layerViolations(imports: readonly Import[]): string[] {
  const problems: string[] = [];
  for (const { from, to } of imports) {
    const source = folderOf(from);
    const target = folderOf(to);
    if (source === target) continue;
    if (isTransport(from)) continue;
    if (isTransport(to)) {
      problems.push(`${from} → ${to}: a domain file imports another capability's transport`);
      continue;
    }
    const rank = LAYERS[source];
    const targetRank = LAYERS[target];
    if (rank === undefined) problems.push(`${from}: folder '${source}' has no place in LAYERS`);
    else if (targetRank === undefined) problems.push(`${from} → ${to}: folder '${target}' has no place in LAYERS`);
    else if (targetRank >= rank)
      problems.push(`${from} → ${to}: runs up (${source} ${rank} → ${target} ${targetRank})`);
  }
  return problems;
}

/** Import cycles between files (type-only imports are erased at build time, so they cannot form one). */
function fileCycles(imports: readonly Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const i of imports) if (!i.typeOnly) next.set(i.from, [...(next.get(i.from) ?? []), i.to]);
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...stack.slice(stack.indexOf(file)), file]);
      return;
    }
    state.set(file, "open");
    stack.push(file);
    for (const to of next.get(file) ?? []) visit(to);
    stack.pop();
    state.set(file, "done");
  };
  for (const file of next.keys()) visit(file);
  return cycles;
}

/** Cycles between folders of the same rank (a lower rank cannot be reached upward once arrows only run down). */
function folderCycles(imports: readonly Import[]): string[] {
  const edges = new Set<string>();
  for (const { from, to } of imports) {
    if (isTransport(from) || folderOf(from) === folderOf(to)) continue;
    edges.add(`${folderOf(from)}→${folderOf(to)}`);
  }
  return [...edges].filter((e) => edges.has(e.split("→").reverse().join("→")));
}

describe("layers", () => {
  it("reads the Worker's source", () => {
    expect(files.size).toBeGreaterThan(60);
    expect(allImports.length).toBeGreaterThan(200);
  });

  it("domain files import only downward along the capability order", () => {
    expect(layerViolations(allImports)).toEqual([]);
  });

  it("no two folders of the domain import each other", () => {
    expect(folderCycles(allImports)).toEqual([]);
  });

  it("no files import each other round a cycle", () => {
    expect(fileCycles(allImports)).toEqual([]);
  });

  it("only store files hold SQL", () => {
    const offenders = [...files]
      .filter(([file, text]) => /\.prepare\(/.test(text) && !STORE_FILE.test(baseOf(file)) && !SQL_ALLOWED.has(file))
      .map(([file]) => file);
    expect(offenders).toEqual([]);
  });

  it("pure rule files import only other pure files, and use no clock, randomness or I/O", () => {
    const problems: string[] = [];
    for (const [file, text] of files) {
      if (!isPure(file)) continue;
      for (const i of importsOf(file, text)) {
        if (!i.typeOnly && !isPure(i.to)) problems.push(`${file} imports ${i.to}`);
      }
      for (const impure of [/Date\.now\(/, /new Date\(\)/, /Math\.random\(/, /crypto\./, /fetch\(/, /\.prepare\(/]) {
        if (impure.test(text)) problems.push(`${file} uses ${impure.source}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("every verb checks its caller first (verb({ ctx, input }) opens with requireRole)", () => {
    const unchecked: string[] = [];
    let verbs = 0;
    for (const [file, text] of files) {
      if (!/(^|-)actions\.ts$/.test(baseOf(file)) && folderOf(file) !== "lifecycle") continue;
      for (const match of text.matchAll(/export async function (\w+)\(\{\s*ctx[^)]*\)[^{]*\{\s*([^\n]*)/g)) {
        verbs++;
        if (!match[2]!.startsWith("requireRole(ctx,")) unchecked.push(`${file}: ${match[1]}`);
      }
    }
    expect(verbs).toBeGreaterThan(25);
    expect(unchecked).toEqual([]);
  });

  it("the checks catch what they are for", () => {
    // A back-arrow: the directory reaching up into licensing.
    expect(
      layerViolations([{ from: "directory/actions.ts", to: "licensing/actions.ts", typeOnly: false }]),
    ).toHaveLength(1);
    // A domain file reaching into another capability's handlers.
    expect(
      layerViolations([{ from: "licensing/store.ts", to: "directory/handlers.ts", typeOnly: false }]),
    ).toHaveLength(1);
    // Transports may import any capability's verbs and views.
    expect(layerViolations([{ from: "directory/handlers.ts", to: "licensing/views.ts", typeOnly: false }])).toEqual([]);
    expect(
      fileCycles([
        { from: "a.ts", to: "b.ts", typeOnly: false },
        { from: "b.ts", to: "a.ts", typeOnly: false },
      ]),
    ).toHaveLength(1);
    expect(
      fileCycles([
        { from: "a.ts", to: "b.ts", typeOnly: true },
        { from: "b.ts", to: "a.ts", typeOnly: false },
      ]),
    ).toEqual([]);
    expect(
      folderCycles([
        { from: "hr/actions.ts", to: "scim/store.ts", typeOnly: false },
        { from: "scim/actions.ts", to: "hr/store.ts", typeOnly: false },
      ]),
    ).toHaveLength(2);
  });
});
