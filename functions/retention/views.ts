/** Pure presenters: retention's rows as the API shows them. */
import { graphTime } from "../core/time.ts";
import type { LedgerRow } from "./purge-store.ts";
import { searchable } from "./rules.ts";
import type { LabelRow, MailboxItemRow, MailboxRow, OneDriveRow } from "./store.ts";

export const presentMailbox = (m: MailboxRow) => ({
  userId: m.userId,
  state: m.state,
  purgeAfter: m.purgeAfter,
  searchable: searchable(m.state),
  litigationHold: m.litigationHold,
  itemCount: m.itemCount,
  sizeBytes: m.sizeBytes,
});

export const presentItem = (i: MailboxItemRow) => ({
  id: String(i.itemSeq),
  subject: i.subject,
  sizeBytes: i.sizeBytes,
  receivedDateTime: i.receivedAt,
  retentionLabelId: i.labelId,
  labeledDateTime: i.labeledAt,
  retainedUntil: i.retainedUntil,
});

export const presentLabel = (l: LabelRow) => ({
  id: l.id,
  displayName: l.name,
  retentionDays: l.retentionDays,
  createdDateTime: graphTime(l.createdAt),
  isInUse: (l.items ?? 0) > 0,
});

export const presentOneDrive = (s: OneDriveRow) => ({
  userId: s.userId,
  state: s.state,
  purgeAfter: s.purgeAfter,
  createdDateTime: graphTime(s.createdAt),
});

/** A purge run as its ledger entry shows it. */
export const presentRun = (r: LedgerRow) => ({
  id: r.id,
  trigger: r.trigger,
  dryRun: r.dryRun,
  asOf: r.asOf,
  state: r.state,
  startedDateTime: graphTime(r.startedAt),
  finishedDateTime: r.finishedAt === null ? null : graphTime(r.finishedAt),
  mailboxes: r.mailboxes,
  mailboxesPurged: r.mailboxesPurged,
  itemsPurged: r.itemsPurged,
  bytesPurged: r.bytesPurged,
  oneDriveSitesPurged: r.oneDriveSitesPurged,
  usersDeleted: r.usersDeleted,
  blocked: {
    litigationHold: r.held.litigationHold,
    inactiveMailbox: r.held.inactiveMailbox,
    labels: r.labels.map((l) => ({ retentionLabelId: l.labelId, displayName: l.name, items: l.items, bytes: l.bytes })),
  },
});
