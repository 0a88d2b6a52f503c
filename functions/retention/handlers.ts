/** The retention routes: validated input → verb → presenter. */
import { invalid } from "../core/errors.ts";
import { isGuid } from "../core/ids.ts";
import { decodeSkipToken, keysetPage, parseTop } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import * as actions from "./actions.ts";
import { previewLicensingChange } from "./impact-actions.ts";
import * as purge from "./purge-actions.ts";
import * as routes from "./routes.ts";
import { presentItem, presentLabel, presentMailbox, presentOneDrive, presentRun } from "./views.ts";

/** A keyset cursor that is a seq: decoded and checked (a forged token is a 400, never SQL). */
function checkedSeq(token: string | undefined): number {
  const raw = decodeSkipToken(token);
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(n)) throw invalid("Invalid $skiptoken.");
  return n;
}

/** The ledger's keyset cursor, the last run's startedAt and id: decoded and checked as checkedSeq is. */
function ledgerCursor(token: string | undefined): { startedAt: string; id: string } | undefined {
  const raw = decodeSkipToken(token);
  if (raw === undefined) return undefined;
  const [startedAt = "", id = "", ...rest] = raw.split("|");
  if (rest.length > 0 || !isGuid(id) || Number.isNaN(Date.parse(startedAt))) throw invalid("Invalid $skiptoken.");
  return { startedAt, id };
}

export const retentionRouter = newRouter()
  .openapi(routes.listMailboxes, async (c) => {
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const rows = await actions.listMailboxes({
      ctx: c.get("ctx"),
      input: {
        top,
        after: checkedSeq(query.$skiptoken),
        state: query.state,
        litigationHold: query.litigationHold === undefined ? undefined : query.litigationHold === "true",
      },
    });
    const page = keysetPage(rows, top, c.req.url, (m) => String(m.seq));
    return c.json({ ...page.nextLink, value: page.shown.map(presentMailbox) }, 200);
  })
  .openapi(routes.getMailbox, async (c) =>
    c.json(
      presentMailbox(await actions.getMailbox({ ctx: c.get("ctx"), input: { userRef: c.req.valid("param").id } })),
      200,
    ),
  )
  .openapi(routes.updateMailbox, async (c) => {
    const mailbox = await actions.setLitigationHold({
      ctx: c.get("ctx"),
      input: { userRef: c.req.valid("param").id, litigationHold: c.req.valid("json").litigationHold },
    });
    return c.json(presentMailbox(mailbox), 200);
  })
  .openapi(routes.listMailboxItems, async (c) => {
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const rows = await actions.listMailboxItems({
      ctx: c.get("ctx"),
      input: { userRef: c.req.valid("param").id, top, after: checkedSeq(query.$skiptoken) },
    });
    const page = keysetPage(rows, top, c.req.url, (i) => String(i.itemSeq));
    return c.json({ ...page.nextLink, value: page.shown.map(presentItem) }, 200);
  })
  .openapi(routes.addMailboxItems, async (c) => {
    const items = await actions.addMailboxItems({
      ctx: c.get("ctx"),
      input: { userRef: c.req.valid("param").id, items: c.req.valid("json").items },
    });
    return c.json({ value: items.map(presentItem) }, 201);
  })
  .openapi(routes.applyRetentionLabel, async (c) => {
    const body = c.req.valid("json");
    const items = await actions.applyRetentionLabel({
      ctx: c.get("ctx"),
      input: { userRef: c.req.valid("param").id, labelId: body.retentionLabelId, itemIds: body.itemIds.map(Number) },
    });
    return c.json({ value: items.map(presentItem) }, 200);
  })
  .openapi(routes.listRetentionLabels, async (c) =>
    c.json({ value: (await actions.listRetentionLabels({ ctx: c.get("ctx") })).map(presentLabel) }, 200),
  )
  .openapi(routes.getRetentionLabel, async (c) =>
    c.json(
      presentLabel(await actions.getRetentionLabel({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } })),
      200,
    ),
  )
  .openapi(routes.createRetentionLabel, async (c) => {
    const label = await actions.createRetentionLabel({ ctx: c.get("ctx"), input: c.req.valid("json") });
    c.header("Location", `${new URL(c.req.url).origin}/api/retention-labels/${label.id}`);
    return c.json(presentLabel(label), 201);
  })
  .openapi(routes.deleteRetentionLabel, async (c) => {
    await actions.deleteRetentionLabel({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } });
    return c.body(null, 204);
  })
  .openapi(routes.getOneDrive, async (c) =>
    c.json(
      presentOneDrive(await actions.getOneDrive({ ctx: c.get("ctx"), input: { userRef: c.req.valid("param").id } })),
      200,
    ),
  )
  .openapi(routes.getRetentionSettings, async (c) =>
    c.json(await actions.getRetentionSettings({ ctx: c.get("ctx") }), 200),
  )
  .openapi(routes.updateRetentionSettings, async (c) =>
    c.json(await actions.updateRetentionSettings({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200),
  )
  .openapi(routes.previewPurge, async (c) => {
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const preview = await purge.previewPurge({
      ctx: c.get("ctx"),
      input: { date: query.date, top, after: checkedSeq(query.$skiptoken) },
    });
    const page = keysetPage(preview.rows, top, c.req.url, (m) => String(m.seq));
    return c.json({ date: preview.date, ...page.nextLink, mailboxes: page.shown.map(({ seq: _seq, ...m }) => m) }, 200);
  })
  .openapi(routes.listPurgeLedger, async (c) => {
    const query = c.req.valid("query");
    const top = parseTop(query.$top);
    const rows = await purge.listPurgeRuns({
      ctx: c.get("ctx"),
      input: { top, before: ledgerCursor(query.$skiptoken) },
    });
    const page = keysetPage(rows, top, c.req.url, (r) => `${r.startedAt}|${r.id}`);
    return c.json({ ...page.nextLink, value: page.shown.map(presentRun) }, 200);
  })
  .openapi(routes.getPurgeLedgerEntry, async (c) =>
    c.json(presentRun(await purge.getPurgeRun({ ctx: c.get("ctx"), input: { id: c.req.valid("param").id } })), 200),
  )
  .openapi(routes.runPurge, async (c) => {
    const run = await purge.startPurge({
      ctx: c.get("ctx"),
      input: { trigger: "api", dryRun: c.req.valid("json").dryRun ?? false },
    });
    c.header("Location", `${new URL(c.req.url).origin}/api/retention/ledger/${run.id}`);
    return c.json(presentRun(run), 202);
  })
  .openapi(routes.previewLicensingChange, async (c) =>
    c.json(await previewLicensingChange({ ctx: c.get("ctx"), input: c.req.valid("json") }), 200),
  );
