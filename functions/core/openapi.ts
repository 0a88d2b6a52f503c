import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import { requireRoles } from "../middleware/auth.ts";
import type { AppEnv, Role } from "./context.ts";
import { badRequest } from "./errors.ts";
import { can } from "./roles.ts";

export const GraphErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ code: z.string(), message: z.string(), target: z.string().optional() })).optional(),
      innerError: z.object({ date: z.string(), "request-id": z.string(), "client-request-id": z.string() }),
    }),
  })
  .openapi("GraphError");

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: GraphErrorSchema } },
});

/** Declared on every route: the error answers any call may get. */
export const standardErrors = {
  400: errorResponse("Request_BadRequest: the request or one of its fields is invalid"),
  401: errorResponse("InvalidAuthenticationToken: no or unknown API key"),
  403: errorResponse("Authorization_RequestDenied: the key's role may not do this"),
  404: errorResponse("Request_ResourceNotFound: no such object in this tenant"),
  409: errorResponse("Directory_ConcurrencyViolation: a concurrent change won; retry"),
  413: errorResponse("Request_EntityTooLarge: the body is over the size limit"),
  429: errorResponse("TooManyRequests: retry after the Retry-After header"),
};

/**
 * Graph objects are open-ended JSON (their shape follows $select); typed loosely so handlers return what views build.
 */
export const GraphObject = z.any().openapi("GraphObject", { type: "object", additionalProperties: true });

/** An OData collection: { "@odata.context", value[], "@odata.nextLink"? }. */
export const GraphCollection = z.any().openapi("GraphCollection", {
  type: "object",
  properties: {
    "@odata.context": { type: "string" },
    "@odata.nextLink": { type: "string" },
    "@odata.count": { type: "integer" },
    value: { type: "array", items: { type: "object", additionalProperties: true } },
  },
});

export const jsonBody = <T extends z.ZodType>(schema: T, description = "JSON body") => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A route contract: method, path, the roles it admits (enforced and documented) and its standard error answers. */
export function defineRoute<const R extends Omit<RouteConfig, "middleware">>(roles: readonly Role[], route: R) {
  // `can.operate` marks installation-wide routes: on top of the role, the key must belong to the operator tenant.
  const operator = roles === can.operate;
  return createRoute({
    ...route,
    description:
      `${route.description ?? route.summary ?? ""}\n\n${operator ? "Operator tenant only. " : ""}Roles: ${roles.join(", ")}.`.trim(),
    security: [{ apiKey: [] }],
    middleware: [requireRoles(roles, { operator })] as const,
    responses: { ...standardErrors, ...route.responses },
  });
}

/** zod failures become Graph's 400 listing each offending field. */
export const validationHook = (result: { success: boolean; error?: z.ZodError; target?: string }) => {
  if (result.success || !result.error) return;
  const details = result.error.issues.map((issue) => ({
    code: "InvalidValue",
    target: issue.path.join(".") || (result.target ?? "body"),
    message: issue.message,
  }));
  const fields = details.map((d) => `${d.target}: ${d.message}`).join("; ");
  throw badRequest(`Invalid request: ${fields}`, details);
};

export const newRouter = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
export { z };
