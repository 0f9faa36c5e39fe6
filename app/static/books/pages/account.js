// One account: its balances, limits and metadata, its balance over time (one query of
// aliased balance(asOf:) fields) and its register (the general ledger), 100 lines a page by
// cursor, so a million-line account is never loaded whole.
import { query } from "../api.js";
import { lineChart } from "../chart.js";
import { amountCell, csvButton, h, link, table } from "../dom.js";
import { isoDate } from "../format.js";
import { heading } from "./common.js";

export const PAGE_SIZE = 100;

const ACCOUNT = `query BooksAccount($code: String!) {
  account(code: $code) {
    code name type category currency active deactivatedAt createdAt metadata
    limits { noOverdraft overdraftLimits { currency amount } maxBalances { currency amount } }
    balances { currency debit credit net pendingDebit pendingCredit available }
  }
}`;

export const REGISTER = `query BooksRegister($code: String!, $currency: String, $after: String, $first: Int!) {
  generalLedger(accountCode: $code, currency: $currency, first: $first, after: $after) {
    currency openingBalance closingBalance
    lines { nodes { entryId entryNumber date memo description debit credit runningBalance }
            pageInfo { hasNextPage endCursor } }
  }
}`;

const MONTHS = 24;
const DAYS = 31;

// The span the register shows, from `start` (its first line's date; none: the last
// months or days) to today: the ends of 12 to MONTHS months (today last), or DAYS days
// (from `start`, or the last DAYS when it is more recent). A line needs a few points:
// books of this month still get a year, rising from zero.
function chartDates(step, start) {
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const first = start ? new Date(`${start}T00:00:00Z`) : null;
  const dates = [];
  if (step === "daily") {
    const recent = today - (DAYS - 1) * 86400000;
    const from = first && first.getTime() < recent ? first.getTime() : recent;
    for (let i = 0; i < DAYS && from + i * 86400000 <= today; i++) dates.push(isoDate(new Date(from + i * 86400000)));
    return dates;
  }
  const months = Math.max(12, first && first.getTime() <= today
    ? (now.getUTCFullYear() - first.getUTCFullYear()) * 12 + now.getUTCMonth() - first.getUTCMonth() + 1 : 12);
  for (let i = Math.min(months, MONTHS) - 1; i >= 0; i--) {
    dates.push(isoDate(i === 0 ? now : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i + 1, 0))));
  }
  return dates;
}

async function balanceChart(code, currency, step, start) {
  const dates = chartDates(step, start);
  const fields = dates.map((d, i) => `d${i}: balance(asOf: "${d}", currency: $currency) { net }`).join(" ");
  const data = await query(`query BooksBalanceOverTime($code: String!, $currency: String) {
    account(code: $code) { ${fields} } }`, { code, currency });
  return lineChart(`Balance (debit − credit), ${step}, ${currency}`, dates, dates.map((_, i) => data.account[`d${i}`].net));
}

function details(a) {
  const limits = [
    a.limits.noOverdraft ? "no overdraft" : null,
    ...a.limits.overdraftLimits.map((l) => `overdraft up to ${l.amount} ${l.currency}`),
    ...a.limits.maxBalances.map((l) => `balance at most ${l.amount} ${l.currency}`),
  ].filter(Boolean);
  return h("dl", { class: "details" },
    h("dt", {}, "Type"), h("dd", {}, a.type + (a.category ? ` (${a.category})` : "")),
    h("dt", {}, "Status"), h("dd", {}, a.active ? "active" : `deactivated ${a.deactivatedAt}`),
    h("dt", {}, "Limits"), h("dd", {}, limits.length ? limits.join("; ") : "none"),
    h("dt", {}, "Metadata"), h("dd", {}, a.metadata ? h("code", {}, JSON.stringify(a.metadata)) : "none"));
}

export async function render(params, { go, tenant }) {
  const code = params.code;
  const a = (await query(ACCOUNT, { code })).account;
  if (!a) return h("p", { class: "error" }, `No account ${code}.`);
  const currency = params.currency || (a.balances[0] && a.balances[0].currency) || a.currency || tenant.baseCurrency;
  const step = params.chart === "daily" ? "daily" : "monthly";
  const ledger = await query(REGISTER, { code, currency, after: params.after || null, first: PAGE_SIZE });
  // The chart spans what the register page shows (its first line) up to today.
  const shown = ledger.generalLedger.lines.nodes;
  const chart = await balanceChart(code, currency, step, shown.length ? shown[0].date : null);
  const gl = ledger.generalLedger;
  const balances = table([{ label: "Currency" }, { label: "Debit", num: true }, { label: "Credit", num: true },
    { label: "Posted net", num: true }, { label: "Pending debit", num: true }, { label: "Pending credit", num: true },
    { label: "Available", num: true }], a.balances.map((b) => [
    link(`#/account?code=${encodeURIComponent(code)}&currency=${b.currency}`, b.currency), amountCell(b.debit),
    amountCell(b.credit), amountCell(b.net), amountCell(b.pendingDebit), amountCell(b.pendingCredit), amountCell(b.available)]),
  { caption: "Balances" });
  const lines = gl.lines.nodes.map((l) => [l.date, link(`#/entry?id=${l.entryId}`, l.entryNumber),
    l.description ? `${l.memo} — ${l.description}` : l.memo, amountCell(l.debit), amountCell(l.credit), amountCell(l.runningBalance)]);
  const next = gl.lines.pageInfo.hasNextPage
    ? h("a", { href: `#/account?${new URLSearchParams({ code, currency, chart: step, after: gl.lines.pageInfo.endCursor })}`,
      class: "next", accessKey: "n" }, `Next ${PAGE_SIZE} lines →`) : null;
  const other = step === "daily" ? "monthly" : "daily";
  return h("section", { id: "account", class: a.active ? "" : "inactive" },
    heading(`${a.code} ${a.name}`), details(a), balances,
    h("p", {}, h("a", { href: `#/account?${new URLSearchParams({ code, currency, chart: other })}` }, `Show ${other}`)),
    chart,
    h("h2", {}, `Register (${gl.currency})`),
    table([{ label: "Date" }, { label: "Entry" }, { label: "Memo" }, { label: "Debit", num: true },
      { label: "Credit", num: true }, { label: "Balance", num: true }], lines, {
      id: "register",
      footer: [[h("th", {}, params.after ? "Opening (of the whole register)" : "Opening"), "", "", "", "", amountCell(gl.openingBalance)],
        [h("th", {}, "Closing"), "", "", "", "", amountCell(gl.closingBalance)]],
    }),
    h("nav", { class: "pager" }, params.after ? h("a", { href: `#/account?${new URLSearchParams({ code, currency, chart: step })}` }, "← First page") : null,
      " ", next),
    h("p", {}, csvButton("generalLedgerCsv", `query BooksRegisterCsv($code: String!, $currency: String) {
      generalLedgerCsv(accountCode: $code, currency: $currency) }`, { code, currency }, `general-ledger-${code}-${currency}.csv`)));
}
