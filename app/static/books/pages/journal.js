// The journal, newest first, 50 entries a page by cursor, with the API's filters; and one
// entry with its lines, its hold, its reversal links, its attachment and its history (events).
import { credentials, query } from "../api.js";
import { amountCell, errorBox, filters, h, link, table } from "../dom.js";

export const JOURNAL = `query BooksJournal($from: Date, $to: Date, $accountCode: String, $status: EntryStatus,
    $journalIds: [ID!], $metadata: JSON, $memoContains: String, $after: String) {
  journalEntries(from: $from, to: $to, accountCode: $accountCode, status: $status, journalIds: $journalIds,
      metadata: $metadata, memoContains: $memoContains, after: $after, first: 50, order: DATE_DESC) {
    nodes { id number date memo status journalCode currency lines { debit } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const STATUSES = [["", "any"], ...["POSTED", "PENDING", "SCHEDULED", "REVERSED", "VOIDED", "EXPIRED"].map((s) => [s, s.toLowerCase()])];

function total(entry) {
  // The sum of the debits, in the entry's currency's decimals (lines share them).
  const decimals = (entry.lines[0]?.debit.split(".")[1] || "").length;
  const scale = 10n ** BigInt(decimals);
  const minor = entry.lines.reduce((sum, l) => sum + BigInt(l.debit.replace(".", "")), 0n);
  return decimals ? `${minor / scale}.${String(minor % scale).padStart(decimals, "0")}` : String(minor);
}

export function journalVariables(params) {
  let metadata = null;
  if (params.metadata) {
    try { metadata = JSON.parse(params.metadata); } catch { throw new Error("metadata: not JSON, e.g. {\"customer\": \"42\"}"); }
  }
  return { from: params.from || null, to: params.to || null, accountCode: params.account || null,
    status: params.status || null, journalIds: params.journal ? [params.journal] : null, metadata,
    memoContains: params.memo || null, after: params.after || null };
}

export async function render(params, { go }) {
  const page = (await query(JOURNAL, journalVariables(params))).journalEntries;
  const rows = page.nodes.map((e) => [e.date, link(`#/entry?id=${e.id}`, e.number), e.journalCode, e.memo,
    e.status.toLowerCase(), e.currency, amountCell(total(e))]);
  const next = page.pageInfo.hasNextPage
    ? h("a", { href: `#/journal?${new URLSearchParams({ ...params, after: page.pageInfo.endCursor })}`, accessKey: "n" }, "Older entries →") : null;
  return h("section", { id: "journal" }, h("h1", {}, "Journal"),
    filters([{ name: "from", label: "From", type: "date" }, { name: "to", label: "To", type: "date" },
      { name: "account", label: "Account", placeholder: "code" }, { name: "journal", label: "Journal id" },
      { name: "status", label: "Status", options: STATUSES }, { name: "metadata", label: "Metadata", placeholder: '{"key": "value"}' },
      // Case-insensitive; it scans the entries the other filters leave, so a date range helps.
      { name: "memo", label: "Memo contains", placeholder: "text" }],
    params, (values) => go("journal", values)),
    table([{ label: "Date" }, { label: "Entry" }, { label: "Journal" }, { label: "Memo" }, { label: "Status" },
      { label: "Currency" }, { label: "Amount", num: true }], rows),
    h("nav", { class: "pager" }, params.after ? link(`#/journal?${new URLSearchParams({ ...params, after: "" })}`, "← Newest") : null, " ", next));
}

export const ENTRY = `query BooksEntry($id: ID!) {
  journalEntry(id: $id) {
    id number date memo currency status source journalCode reversalOfId reversedById createdAt externalId
    accrualDate reportingCurrency exchangeRate rateSource rateDate attachmentId attachmentFilename metadata
    lines { accountCode currency debit credit description reportingDebit reportingCredit }
  }
  hold(entryId: $id) { status expiresAt reason }
}`;

export const HISTORY = `query BooksEntryHistory($id: ID!, $after: String) {
  events(entryId: $id, first: 100, after: $after) { nodes { id type entryId createdAt } pageInfo { hasNextPage endCursor } }
}`;

// Every event of one entry (a handful: created, posted or voided, metadata changes), by cursor.
async function eventsOf(id) {
  const found = [];
  let after = null;
  do {
    const page = (await query(HISTORY, { id, after })).events;
    found.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return found;
}

// The entry's events, oldest first. A reversal is recorded as an event of the reversing
// entry (journal_entry.reversed), so that one is read from it and linked to it.
async function history(e) {
  const [own, reversing] = await Promise.all([eventsOf(e.id), e.reversedById ? eventsOf(e.reversedById) : []]);
  const events = [...own, ...reversing.filter((v) => v.type === "journal_entry.reversed")]
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  const related = (v) => {
    if (v.entryId !== e.id) return link(`#/entry?id=${v.entryId}`, `reversed by entry ${v.entryId}`);
    if (v.type === "journal_entry.reversed" && e.reversalOfId) return link(`#/entry?id=${e.reversalOfId}`, `reverses entry ${e.reversalOfId}`);
    return "";
  };
  return table([{ label: "Time" }, { label: "Event" }, { label: "Entry" }],
    events.map((v) => [h("time", { datetime: v.createdAt }, v.createdAt), v.type, related(v)]), { caption: "History", id: "history" });
}

// The attachment's bytes come from the file route, with the same key (a header, so a fetch).
function attachmentButton(entry) {
  return h("button", { type: "button", onclick: async (event) => {
    const button = event.currentTarget;
    try {
      const headers = { Authorization: `Bearer ${credentials.key}` };
      if (credentials.tenant) headers["X-Tenant"] = credentials.tenant;
      const response = await fetch(`api/external/v2/file_attachments/${entry.attachmentId}/file`, { headers, credentials: "omit" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const anchor = h("a", { href: url, download: entry.attachmentFilename || "attachment" });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      button.after(errorBox(error));
    }
  } }, `Download ${entry.attachmentFilename || "attachment"}`);
}

export async function entry(params) {
  const data = await query(ENTRY, { id: params.id });
  const e = data.journalEntry;
  if (!e) return h("p", { class: "error" }, `No entry ${params.id}.`);
  const events = await history(e);
  const reporting = Boolean(e.reportingCurrency);
  const fact = (name, value) => (value ? [h("dt", {}, name), h("dd", {}, value)] : []);
  const columns = [{ label: "Account" }, { label: "Currency" }, { label: "Debit", num: true }, { label: "Credit", num: true },
    { label: "Description" }, ...(reporting ? [{ label: `Debit (${e.reportingCurrency})`, num: true }, { label: `Credit (${e.reportingCurrency})`, num: true }] : [])];
  const rows = e.lines.map((l) => [link(`#/account?code=${encodeURIComponent(l.accountCode)}`, l.accountCode), l.currency,
    amountCell(l.debit), amountCell(l.credit), l.description || "", ...(reporting ? [amountCell(l.reportingDebit), amountCell(l.reportingCredit)] : [])]);
  return h("section", { id: "entry" }, h("h1", {}, `Entry ${e.number}`),
    h("dl", { class: "details" },
      fact("Date", e.date), fact("Memo", e.memo), fact("Journal", e.journalCode), fact("Status", e.status.toLowerCase()),
      fact("Hold", data.hold ? `${data.hold.status.toLowerCase()}${data.hold.expiresAt ? `, expires ${data.hold.expiresAt}` : ""}${data.hold.reason ? ` (${data.hold.reason})` : ""}` : null),
      fact("Reverses", e.reversalOfId ? link(`#/entry?id=${e.reversalOfId}`, `entry ${e.reversalOfId}`) : null),
      fact("Reversed by", e.reversedById ? link(`#/entry?id=${e.reversedById}`, `entry ${e.reversedById}`) : null),
      fact("Accrual date", e.accrualDate), fact("Source", e.source), fact("External id", e.externalId),
      fact("Recorded", e.createdAt),
      fact("Reporting", reporting ? `${e.reportingCurrency} at ${e.exchangeRate} (${e.rateSource}, ${e.rateDate})` : null),
      fact("Metadata", e.metadata ? h("code", {}, JSON.stringify(e.metadata)) : null),
      fact("Attachment", e.attachmentId ? attachmentButton(e) : null)),
    table(columns, rows, { caption: "Lines", id: "lines" }),
    events);
}
