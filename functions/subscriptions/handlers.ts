import { loadSkuPlans } from "../catalog/store.ts";
import type { Ctx } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { contextUrl } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { findTenant } from "../tenancy/actions.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import type { SubscriptionRow } from "./store.ts";
import { companySubscription, loadCompanySubscriptions, loadSubscribedSkus } from "./views.ts";

/** One read: the SKU's catalogue entry carries its part number and plans. */
async function present(ctx: Ctx, row: SubscriptionRow) {
  const sku = (await loadSkuPlans(ctx.d1, [row.skuId])).get(row.skuId);
  return companySubscription(row, sku?.skuPartNumber ?? "", sku);
}

/** Graph's /directory/subscriptions and seatflow's /api/subscriptions list the same collection. */
const subscriptionCollection = async (ctx: Ctx, url: string) => ({
  "@odata.context": contextUrl(url, "directory/subscriptions"),
  value: await loadCompanySubscriptions(ctx),
});

async function subscribedSkus(ctx: Ctx) {
  const tenant = await findTenant(ctx.d1, ctx.tenantId);
  return loadSubscribedSkus(ctx, tenant?.displayName ?? "");
}

async function oneSubscription(ctx: Ctx, id: string) {
  const found = (await loadCompanySubscriptions(ctx)).find((s) => s.id === id || s.commerceSubscriptionId === id);
  if (!found) throw notFound(id);
  return found;
}

export const subscriptionsRouter = newRouter()
  .openapi(routes.listSubscribedSkus, async (c) =>
    c.json(
      { "@odata.context": contextUrl(c.req.url, "subscribedSkus"), value: await subscribedSkus(c.get("ctx")) },
      200,
    ),
  )
  .openapi(routes.getSubscribedSku, async (c) => {
    const { id } = c.req.valid("param");
    const sku = (await subscribedSkus(c.get("ctx"))).find(
      (s) => s.id === id.toLowerCase() || s.skuId === id.toLowerCase(),
    );
    if (!sku) throw notFound(id);
    return c.json({ "@odata.context": contextUrl(c.req.url, "subscribedSkus/$entity"), ...sku }, 200);
  })
  .openapi(routes.listCompanySubscriptions, async (c) =>
    c.json(await subscriptionCollection(c.get("ctx"), c.req.url), 200),
  )
  .openapi(routes.getCompanySubscription, async (c) =>
    c.json(
      {
        "@odata.context": contextUrl(c.req.url, "directory/subscriptions/$entity"),
        ...(await oneSubscription(c.get("ctx"), c.req.valid("param").id)),
      },
      200,
    ),
  )
  .openapi(routes.listSubscriptions, async (c) => c.json(await subscriptionCollection(c.get("ctx"), c.req.url), 200))
  .openapi(routes.getSubscription, async (c) =>
    c.json(await oneSubscription(c.get("ctx"), c.req.valid("param").id), 200),
  )
  .openapi(routes.createSubscription, async (c) => {
    const ctx = c.get("ctx");
    const row = await actions.createSubscription({ ctx, input: c.req.valid("json") });
    return c.json(await present(ctx, row), 201);
  })
  .openapi(routes.updateSubscription, async (c) => {
    const ctx = c.get("ctx");
    const row = await actions.updateSubscription({ ctx, id: c.req.valid("param").id, input: c.req.valid("json") });
    return c.json(await present(ctx, row), 200);
  })
  .openapi(routes.takeOverSubscription, async (c) => {
    const ctx = c.get("ctx");
    const row = await actions.takeOverSubscription({ ctx, id: c.req.valid("param").id });
    return c.json(await present(ctx, row), 200);
  });
