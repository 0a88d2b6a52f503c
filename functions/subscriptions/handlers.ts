/** The subscriptions routes (Graph's subscribedSkus and directory/subscriptions, seatflow's /api/subscriptions). */
import type { Ctx } from "../core/context.ts";
import { notFound } from "../core/errors.ts";
import { contextUrl } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { actForTenant } from "../tenancy/actions.ts";
import * as actions from "./actions.ts";
import * as routes from "./routes.ts";
import { companySubscription, companySubscriptions, overallocationAlert, subscribedSkus } from "./views.ts";

const present = ({ subscription, skuPartNumber, sku }: actions.SubscriptionWithSku) =>
  companySubscription(subscription, skuPartNumber, sku);

const presentChanged = (changed: actions.SubscriptionWithSku & { warning?: string }) => ({
  ...present(changed),
  ...(changed.warning ? { warning: changed.warning } : {}),
});

/** Graph's /directory/subscriptions and seatflow's /api/subscriptions list the same collection. */
const subscriptionCollection = async (ctx: Ctx, url: string) => ({
  "@odata.context": contextUrl(url, "directory/subscriptions"),
  value: companySubscriptions(await actions.listSubscriptions({ ctx })),
});

async function pools(ctx: Ctx) {
  const { tenant, listing, consumed } = await actions.listLicensePools({ ctx });
  return subscribedSkus(tenant, listing, consumed);
}

async function oneSubscription(ctx: Ctx, id: string) {
  const all = companySubscriptions(await actions.listSubscriptions({ ctx }));
  const found = all.find((s) => s.id === id || s.commerceSubscriptionId === id);
  if (!found) throw notFound(id);
  return found;
}

export const subscriptionsRouter = newRouter()
  .openapi(routes.listSubscribedSkus, async (c) =>
    c.json({ "@odata.context": contextUrl(c.req.url, "subscribedSkus"), value: await pools(c.get("ctx")) }, 200),
  )
  .openapi(routes.getSubscribedSku, async (c) => {
    const { id } = c.req.valid("param");
    const sku = (await pools(c.get("ctx"))).find((s) => s.id === id.toLowerCase() || s.skuId === id.toLowerCase());
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
    const created = await actions.createSubscription({ ctx: c.get("ctx"), input: c.req.valid("json") });
    return c.json(present(created), 201);
  })
  .openapi(routes.updateSubscription, async (c) => {
    const input = { ...c.req.valid("json"), id: c.req.valid("param").id };
    return c.json(presentChanged(await actions.updateSubscription({ ctx: c.get("ctx"), input })), 200);
  })
  .openapi(routes.takeOverSubscription, async (c) => {
    const taken = await actions.takeOverSubscription({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
    return c.json(present(taken), 200);
  })
  .openapi(routes.overallocationReport, async (c) => {
    const { alerts, pools } = await actions.overallocationReport({ ctx: c.get("ctx") });
    return c.json({ pools, value: alerts.map(overallocationAlert) }, 200);
  })
  .openapi(routes.sellSubscription, async (c) => {
    const ctx = await actForTenant({ ctx: c.get("ctx"), input: { tenantId: c.req.valid("param").tenantId } });
    return c.json(present(await actions.createSubscription({ ctx, input: c.req.valid("json") })), 201);
  })
  .openapi(routes.changeSoldSubscription, async (c) => {
    const { tenantId, id } = c.req.valid("param");
    const ctx = await actForTenant({ ctx: c.get("ctx"), input: { tenantId } });
    return c.json(
      presentChanged(await actions.updateSubscription({ ctx, input: { ...c.req.valid("json"), id } })),
      200,
    );
  });
