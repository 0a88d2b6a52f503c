import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../core/context.ts";
import { DomainError } from "../core/errors.ts";
import { noteInteractiveRequest } from "../core/traffic.ts";

/** Graph's request-id / client-request-id pair: echoed on every answer and in every error body. */
export const requestIds: MiddlewareHandler<AppEnv> = async (c, next) => {
  noteInteractiveRequest();
  const requestId = crypto.randomUUID();
  c.set("requestId", requestId);
  c.set("clientRequestId", c.req.header("client-request-id") ?? requestId);
  await next();
  c.header("request-id", requestId);
  c.header("client-request-id", c.get("clientRequestId"));
};

const CATALOG_IMPORT_BYTES = 8 * 1024 * 1024;

/** Bodies beyond the limit are refused before they are read whole. */
export const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
  const maxSize =
    c.req.path === "/api/catalog/import" ? CATALOG_IMPORT_BYTES : Number(c.env.MAX_BODY_BYTES || 1_048_576);
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new DomainError("tooLarge", `The request body is larger than the limit of ${maxSize} bytes.`);
    },
  })(c, next);
};
