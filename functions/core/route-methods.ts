/** The methods each declared path takes, read from the app's OpenAPI registry: the `Allow` of Graph's 405. */
import type { OpenAPIHono } from "@hono/zod-openapi";

type Registry = OpenAPIHono["openAPIRegistry"];
type Template = { pattern: RegExp; methods: Set<string> };

/** How `Allow` lists methods: the order RFC 9110 introduces them in, not the order routes happen to be declared. */
const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** An OpenAPI path ("/v1.0/users/{id}/assignLicense") as the router matches it: a parameter is one whole segment. */
const patternOf = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);

function compile(registry: Registry): Template[] {
  const byPath = new Map<string, Set<string>>();
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const { path, method } = definition.route;
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method.toUpperCase());
    byPath.set(path, methods);
  }
  return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), methods }));
}

/**
 * Returns, for a request path, every method some declared route takes at it (none for a path no route declares). The
 * registry is read on first use, when every router has been mounted. A path two templates match (`/users/{id}` and a
 * literal segment) takes the union: that is what the router would dispatch. HEAD comes with GET, as Hono answers it.
 */
export function allowedMethods(registry: Registry): (path: string) => string[] {
  let templates: Template[] | undefined;
  return (path) => {
    templates ??= compile(registry);
    const methods = new Set<string>();
    for (const template of templates) {
      if (template.pattern.test(path)) for (const method of template.methods) methods.add(method);
    }
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  };
}
