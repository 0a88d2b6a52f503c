/** The catalogue routes: validated input → verb → answer. */
import { newRouter } from "../core/openapi.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";

export const catalogRouter = newRouter()
  .openapi(routes.importCatalog, async (c) => {
    const ctx = c.get("ctx");
    return c.json(await actions.importCatalog({ ctx, input: { csv: await c.req.text() } }), 200);
  })
  .openapi(routes.listPlanRules, async (c) =>
    c.json({ value: await actions.listPlanRules({ ctx: c.get("ctx") }) }, 200),
  )
  .openapi(routes.createPlanRule, async (c) => {
    const ctx = c.get("ctx");
    return c.json(await actions.createPlanRule({ ctx, input: c.req.valid("json") }), 201);
  })
  .openapi(routes.deletePlanRule, async (c) => {
    await actions.deletePlanRule({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
    return c.body(null, 204);
  });
