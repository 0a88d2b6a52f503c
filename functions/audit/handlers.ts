/** The audit log's route: parse OData → verb → presenter. */
import { invalid } from "../core/errors.ts";
import { compileODataFilter, contextUrl, decodeSkipToken, keysetPage, parseTop } from "../core/odata.ts";
import { newRouter } from "../core/openapi.ts";
import { listDirectoryAudits } from "./actions.ts";
import { auditFilterQuery } from "./filter.ts";
import * as routes from "./routes.ts";
import { directoryAudit } from "./views.ts";

export const auditRouter = newRouter().openapi(routes.listDirectoryAudits, async (c) => {
  const query = c.req.valid("query");
  const top = parseTop(query.$top);
  const filter = compileODataFilter(query.$filter, auditFilterQuery);
  const cursor = decodeSkipToken(query.$skiptoken)?.split("|");
  if (cursor && cursor.length !== 2) throw invalid("Invalid $skiptoken.");
  const rows = await listDirectoryAudits({
    ctx: c.get("ctx"),
    input: {
      filter,
      top,
      before: cursor ? { time: cursor[0]!, id: cursor[1]! } : undefined,
    },
  });
  const page = keysetPage(rows, top, c.req.url, (r) => `${r.activityDateTime}|${r.id}`);
  return c.json(
    {
      "@odata.context": contextUrl(c.req.url, "auditLogs/directoryAudits"),
      ...page.nextLink,
      value: page.shown.map(directoryAudit),
    },
    200,
  );
});
