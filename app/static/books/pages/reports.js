// Trial balance, balance sheet and income statement: each one GraphQL query, shown as tables
// whose cells hold the answer's strings as they are.
import { query } from "../api.js";
import { barChart } from "../chart.js";
import { treemap } from "../treemap.js";
import { amountCell, csvButton, filters, h, table } from "../dom.js";
import { month, startOfYear, today } from "../format.js";
import { ACCOUNT, DEPTH, METHOD, VALUE_IN, accountLabel, heading, intOrNull, valuation } from "./common.js";

export const TRIAL_BALANCE = `query BooksTrialBalance($from: Date, $to: Date, $depth: Int) {
  trialBalanceReport(from: $from, to: $to, depth: $depth) {
    from to balanced
    rows { ${ACCOUNT} level currency openingBalance debit credit closingBalance }
    totals { currency openingBalance debit credit closingBalance balanced }
  }
}`;

export async function trialBalance(params, { go }) {
  const variables = { from: params.from || null, to: params.to || null, depth: intOrNull(params.depth) };
  const report = (await query(TRIAL_BALANCE, variables)).trialBalanceReport;
  const columns = [{ label: "Account" }, { label: "Currency" }, { label: "Opening", num: true },
    { label: "Debit", num: true }, { label: "Credit", num: true }, { label: "Closing", num: true }];
  const rows = report.rows.map((r) => [accountLabel(r.account, r.level), r.currency,
    amountCell(r.openingBalance), amountCell(r.debit), amountCell(r.credit), amountCell(r.closingBalance)]);
  const footer = report.totals.map((t) => [h("th", {}, "Total"), t.currency, amountCell(t.openingBalance),
    amountCell(t.debit), amountCell(t.credit), amountCell(t.closingBalance)]);
  return h("section", { id: "trial-balance" },
    heading("Trial balance", h("span", { class: report.balanced ? "ok" : "bad" }, report.balanced ? " balanced" : " NOT balanced")),
    filters([{ name: "from", label: "From", type: "date" }, { name: "to", label: "To", type: "date" }, DEPTH],
      params, (values) => go("trial-balance", values)),
    table(columns, rows, { footer }),
    h("p", {}, csvButton("trialBalanceCsv", "query BooksTrialBalanceCsv($asOf: Date) { trialBalanceCsv(asOf: $asOf) }",
      { asOf: variables.to }, `trial-balance-${variables.to || today()}.csv`),
      " (the posted totals through the end date)"));
}

const STATEMENT_SECTION = `{ type totals groups { category totals rows { ${ACCOUNT} level amounts } } }`;
export const INCOME_STATEMENT = `query BooksIncomeStatement($from: Date!, $to: Date!, $compare: StatementCompare!,
    $depth: Int, $valuation: ValuationInput) {
  incomeStatement(from: $from, to: $to, compare: $compare, depth: $depth, valuation: $valuation) {
    currency columns { from to income expenses netIncome } netIncome
    income ${STATEMENT_SECTION} expenses ${STATEMENT_SECTION}
    valuation { currency method rule }
  }
}`;

function columnLabel(c) {
  return c.from.slice(0, 7) === c.to.slice(0, 7) && c.from.endsWith("-01") ? month(c.from) : `${c.from} – ${c.to}`;
}

function statementRows(section) {
  return section.groups.flatMap((g) => [
    ...(g.category ? [[h("th", {}, g.category), ...g.totals.map(amountCell)]] : []),
    ...g.rows.map((r) => [accountLabel(r.account, r.level), ...r.amounts.map(amountCell)]),
  ]);
}

// The accounts without a child in the statement (a parent's amount sums its children's),
// with the sum of their columns: the period's figure however the columns divide it.
// `inside`: the indexes of the columns within the period (not a previous period's).
function expenseTiles(section, inside) {
  const rows = section.groups.flatMap((g) => g.rows);
  return rows.filter((r, i) => !(rows[i + 1] && rows[i + 1].level > r.level)).map((r) => ({
    label: `${r.account.code} ${r.account.name}`,
    amount: sumOf(inside.map((i) => r.amounts[i])),
    href: `#/account?code=${encodeURIComponent(r.account.code)}`,
  }));
}

// Decimal strings summed exactly (in minor units, as BigInt), back to a decimal string.
function sumOf(amounts) {
  const decimals = Math.max(0, ...amounts.map((a) => (a.split(".")[1] || "").length));
  const minor = amounts.reduce((s, a) => {
    const [whole, fraction = ""] = a.replace("-", "").split(".");
    const value = BigInt(whole + fraction.padEnd(decimals, "0"));
    return s + (a.startsWith("-") ? -value : value);
  }, 0n);
  const sign = minor < 0n ? "-" : "";
  const digits = String(minor < 0n ? -minor : minor).padStart(decimals + 1, "0");
  return decimals ? `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` : sign + digits;
}

export function incomeStatementVariables(params) {
  return { from: params.from || startOfYear(), to: params.to || today(), compare: params.compare || "MONTHLY",
    depth: intOrNull(params.depth), valuation: valuation(params) };
}

export async function incomeStatement(params, { go }) {
  const variables = incomeStatementVariables(params);
  const statements = (await query(INCOME_STATEMENT, variables)).incomeStatement;
  const sections = statements.map((s) => {
    const columns = [{ label: "Account" }, ...s.columns.map((c) => ({ label: columnLabel(c), num: true }))];
    const months = s.columns.filter((c) => c.from !== variables.from || c.to !== variables.to);
    const chart = months.length > 1 ? barChart(`Income and expenses per month (${s.currency})`,
      months.map(columnLabel), [{ label: "income", values: months.map((c) => c.income) },
        { label: "expenses", values: months.map((c) => c.expenses) }]) : null;
    const inside = s.columns.flatMap((c, i) => (c.from >= variables.from && c.to <= variables.to ? [i] : []));
    const expenses = expenseTiles(s.expenses, inside);
    const tiles = expenses.length ? treemap(`Expenses by account over the period (${s.currency})`, expenses) : null;
    return h("section", { class: "statement", dataset: { currency: s.currency, valued: s.valuation ? "1" : "" } },
      h("h2", {}, s.valuation ? `${s.currency}, valued (${s.valuation.method}: ${s.valuation.rule})` : s.currency),
      chart,
      tiles,
      table(columns, statementRows(s.income), { caption: "Income",
        footer: [[h("th", {}, "Total income"), ...s.income.totals.map(amountCell)]] }),
      table(columns, statementRows(s.expenses), { caption: "Expenses",
        footer: [[h("th", {}, "Total expenses"), ...s.expenses.totals.map(amountCell)]] }),
      table(columns, [[h("th", {}, "Net income"), ...s.netIncome.map(amountCell)]], { caption: "Net income" }));
  });
  return h("section", { id: "income-statement" }, heading("Income statement"),
    filters([{ name: "from", label: "From", type: "date" }, { name: "to", label: "To", type: "date" },
      { name: "compare", label: "Columns", options: [["MONTHLY", "by month"], ["PREVIOUS_PERIOD", "previous period"], ["NONE", "period only"]] },
      DEPTH, VALUE_IN, METHOD], { ...params, compare: variables.compare }, (values) => go("income-statement", values)),
    sections.length ? sections : h("p", {}, "Nothing posted in the period."));
}
