/** The Hono app: middleware, each capability's router, JSON batching, the OpenAPI document and Graph's errors. */
import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import { auditRouter } from "./audit/handlers.ts";
import { catalogRouter } from "./catalog/handlers.ts";
import { batchRoute, runBatch } from "./core/batch.ts";
import type { AppEnv } from "./core/context.ts";
import { graphErrorBody, graphFailure, installGraphErrors } from "./core/graph-errors.ts";
import { validationHook } from "./core/openapi.ts";
import { allowedMethods } from "./core/route-methods.ts";
import { groupsRouter } from "./directory/group-handlers.ts";
import { usersRouter } from "./directory/handlers.ts";
import { licensingRouter } from "./licensing/handlers.ts";
import { authenticate } from "./middleware/auth.ts";
import { corsAllowList } from "./middleware/cors.ts";
import { limitBody, requestIds } from "./middleware/request.ts";
// Mailboxes and OneDrives move with licensing changes: registered wherever licensing runs.
import "./retention/licensing-hook.ts";
import { retentionRouter } from "./retention/handlers.ts";
import { subscriptionsRouter } from "./subscriptions/handlers.ts";
import { tenancyRouter } from "./tenancy/handlers.ts";

export function buildApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requestIds);
  // CORS first: a browser's preflight carries no key, and an error answer must still be readable by the page.
  app.use("/v1.0/*", corsAllowList, limitBody, authenticate);
  app.use("/api/*", corsAllowList, limitBody, authenticate);
  app.use("/openapi.json", corsAllowList);

  app.route("/", usersRouter);
  app.route("/", groupsRouter);
  app.route("/", licensingRouter);
  app.route("/", subscriptionsRouter);
  app.route("/", catalogRouter);
  app.route("/", auditRouter);
  app.route("/", tenancyRouter);
  app.route("/", retentionRouter);

  app.openapi(batchRoute, async (c) => {
    const responses = await runBatch(
      c.req.valid("json").requests,
      new URL(c.req.url).origin,
      async (request) => app.fetch(request, c.env, c.executionCtx),
      c.req.header("authorization") ?? "",
      (error) => {
        const failure = graphFailure(error);
        return {
          status: failure.status,
          body: graphErrorBody(failure, c.get("requestId"), c.get("clientRequestId"), new Date()),
        };
      },
    );
    return c.json({ responses }, 200);
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "A seatflow API key: `Authorization: Bearer sf_…`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bootstrapToken", {
    type: "http",
    scheme: "bearer",
    description: "The installation's SEATFLOW_BOOTSTRAP_TOKEN secret (POST /api/bootstrap only)",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "seatflow",
      version: "0.1.0",
      description:
        "License management with Microsoft 365 / Entra ID semantics. Graph v1.0-compatible under /v1.0; seatflow's own API under /api.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "seatflow API" }));
  app.get("/", (c) => c.redirect("/docs"));

  installGraphErrors(app, { allowedMethods: allowedMethods(app.openAPIRegistry) });

  return app;
}

export const app = buildApp();
