/** Pure presenters: retention's rows as the API shows them. */
import { graphTime } from "../core/time.ts";
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
