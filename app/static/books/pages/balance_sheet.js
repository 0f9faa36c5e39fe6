// The balance sheet at a date, or side by side at the ends of the last months or years
// (compare=MONTHLY|YEARLY): queries of aliased balanceSheet fields, one per column, CHUNK
// columns a query, sent together.
import { query } from "../api.js";
import { amountCell, filters, h, table } from "../dom.js";
import { isoDate } from "../format.js";
import { DEPTH, METHOD, VALUE_IN, accountLabel, heading, intOrNull, valuation } from "./common.js";

const SECTION = "{ total groups { category total rows { account { code name active } level amount } } }";
const FIELDS = `asOf currency currentEarnings totalAssets totalLiabilitiesAndEquity difference balanced
  assets ${SECTION} liabilities ${SECTION} equity ${SECTION} valuation { currency method rule }`;
const PARTS = [["assets", "Assets"], ["liabilities", "Liabilities"], ["equity", "Equity"]];
const TOTALS = [["currentEarnings", "Current earnings"], ["totalAssets", "Total assets"],
  ["totalLiabilitiesAndEquity", "Total liabilities and equity"], ["difference", "Difference"]];
export const MAX_COLUMNS = 24;
// A server with the default LEDGERQL_MAX_COST (25,000) takes three balance sheets in one
// query (each is estimated at about 8,250): more columns go in more queries, in parallel.
export const CHUNK = 3;

// The dates of the columns, oldest first: asOf alone, or the ends of the `count` months or
// years before it, then asOf (default today) itself.
export function columnDates(asOf, compare, count) {
  if (compare !== "MONTHLY" && compare !== "YEARLY") return [asOf || null];
  const end = asOf ? new Date(`${asOf}T00:00:00Z`) : new Date();
  const dates = [];
  for (let i = count - 1; i > 0; i--) {
    dates.push(isoDate(compare === "MONTHLY"
      ? new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - i + 1, 0))
      : new Date(Date.UTC(end.getUTCFullYear() - i, 11, 31))));
  }
  return [...dates, isoDate(end)];
}

function balanceSheetQuery(count) {
  const dates = Array.from({ length: count }, (_, i) => `$d${i}: Date`).join(", ");
  const fields = Array.from({ length: count },
    (_, i) => `c${i}: balanceSheet(asOf: $d${i}, depth: $depth, valuation: $valuation) { ${FIELDS} }`).join("\n  ");
  return `query BooksBalanceSheet($depth: Int, $valuation: ValuationInput, ${dates}) {\n  ${fields}\n}`;
}

// The lines of one part across the columns: group and account rows by key, newest column's
// order first; a row a column lacks has no amount there.
function partRows(sheets, part) {
  const rows = new Map();
  const add = (key, make, column, amount) => {
    if (!rows.has(key)) rows.set(key, { make, amounts: sheets.map(() => null) });
    rows.get(key).amounts[column] = amount;
  };
  for (let column = sheets.length - 1; column >= 0; column--) {
    const sheet = sheets[column];
    if (!sheet) continue;
    for (const g of sheet[part].groups) {
      if (g.category) add(`g:${g.category}`, () => h("th", {}, g.category), column, g.total);
      for (const r of g.rows) add(`a:${r.account.code}`, () => accountLabel(r.account, r.level), column, r.amount);
    }
  }
  return [...rows.values()].map((r) => [r.make(), ...r.amounts.map(amountCell)]);
}

function sheetSection(sheets, labels) {
  const last = sheets.filter(Boolean).at(-1);
  const columns = (title) => [{ label: title }, ...labels.map((l) => ({ label: l, num: true }))];
  const value = (getter) => sheets.map((s) => amountCell(s ? getter(s) : null));
  const name = last.valuation ? `${last.currency}, valued (${last.valuation.method}: ${last.valuation.rule})` : last.currency;
  const balanced = sheets.every((s) => !s || s.balanced);
  return h("section", { class: "sheet", dataset: { currency: last.currency, valued: last.valuation ? "1" : "" } },
    h("h2", {}, name, h("span", { class: balanced ? "ok" : "bad" }, balanced ? " balanced" : " NOT balanced")),
    PARTS.map(([part, title]) => table(columns(title), partRows(sheets, part),
      { footer: [[h("th", {}, `Total ${title.toLowerCase()}`), ...value((s) => s[part].total)]] })),
    table(columns(""), TOTALS.map(([field, title]) => [h("th", {}, title), ...value((s) => s[field])]), { caption: "Totals" }));
}

export async function render(params, { go }) {
  const count = Math.min(Math.max(intOrNull(params.periods) || (params.compare === "YEARLY" ? 3 : 6), 1), MAX_COLUMNS);
  const dates = columnDates(params.asOf, params.compare, count);
  const chunks = [];
  for (let start = 0; start < dates.length; start += CHUNK) chunks.push(dates.slice(start, start + CHUNK));
  const answers = await Promise.all(chunks.map((part) => {
    const variables = { depth: intOrNull(params.depth), valuation: valuation(params) };
    part.forEach((d, i) => { variables[`d${i}`] = d; });
    return query(balanceSheetQuery(part.length), variables);
  }));
  const columns = answers.flatMap((data, k) => chunks[k].map((_, i) => data[`c${i}`]));
  // One sheet per currency (and one valued): matched across columns by currency and valuation.
  const keys = [...new Set(columns.flat().map((s) => `${s.currency}|${s.valuation ? 1 : 0}`))];
  const labels = dates.map((d) => d || "now");
  const sections = keys.map((key) => sheetSection(
    columns.map((sheets) => sheets.find((s) => `${s.currency}|${s.valuation ? 1 : 0}` === key) || null), labels));
  return h("section", { id: "balance-sheet" }, heading("Balance sheet"),
    filters([{ name: "asOf", label: "As of", type: "date" },
      { name: "compare", label: "Columns", options: [["", "that date"], ["MONTHLY", "month ends"], ["YEARLY", "year ends"]] },
      { name: "periods", label: "How many", type: "number", placeholder: "6" }, DEPTH, VALUE_IN, METHOD], params,
    (values) => go("balance-sheet", values)),
    sections.length ? sections : h("p", {}, "Nothing posted."));
}
