// The chart of accounts as a tree: every account (posted or not) under its parent
// (parentCode), children by code, with the trial balance report's figures per currency
// (parents summing their subtree, `depth` folding deeper accounts into their ancestors):
// posted, pending and available. An account with nothing posted has a row without figures.
import { query } from "../api.js";
import { amountCell, filters, h, table } from "../dom.js";
import { DEPTH, accountLabel, heading, intOrNull } from "./common.js";

export const ACCOUNT_TREE = `query BooksAccountTree($depth: Int) {
  trialBalanceReport(depth: $depth) {
    rows { account { code name active type } level currency closingBalance pendingDebit pendingCredit available }
  }
}`;

const ALL_ACCOUNTS = `query BooksAccounts($after: String) {
  accounts(first: 500, after: $after) { nodes { code name type active parentCode } pageInfo { hasNextPage endCursor } }
}`;

// Every account, 500 at a time (a chart of accounts is small next to its lines).
async function allAccounts() {
  const found = [];
  let after = null;
  do {
    const page = (await query(ALL_ACCOUNTS, { after })).accounts;
    found.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return found;
}

// The accounts depth first, each with its level: top accounts (no parent, or a parent not
// listed) first, children after their parent, by code (the API lists accounts by code).
export function treeOrder(accounts) {
  const codes = new Set(accounts.map((a) => a.code));
  const children = new Map();
  for (const a of accounts) {
    const parent = a.parentCode && codes.has(a.parentCode) ? a.parentCode : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(a);
  }
  const ordered = [];
  const seen = new Set();
  const visit = (parent, level) => {
    for (const a of children.get(parent) || []) {
      if (seen.has(a.code)) continue; // a cycle, which the API refuses: never loop on it
      seen.add(a.code);
      ordered.push({ account: a, level });
      visit(a.code, level + 1);
    }
  };
  visit(null, 0);
  return ordered;
}

export async function render(params, { go }) {
  const depth = intOrNull(params.depth);
  const [tree, accounts] = await Promise.all([query(ACCOUNT_TREE, { depth }), allAccounts()]);
  const figures = new Map();
  for (const r of tree.trialBalanceReport.rows) {
    if (!figures.has(r.account.code)) figures.set(r.account.code, []);
    figures.get(r.account.code).push(r);
  }
  const columns = [{ label: "Account" }, { label: "Type" }, { label: "Currency" },
    { label: "Posted (debit − credit)", num: true }, { label: "Pending debit", num: true },
    { label: "Pending credit", num: true }, { label: "Available", num: true }];
  // Deeper than `depth`, an account's figures are in its ancestor's: it is not shown.
  const shown = treeOrder(accounts).filter((n) => depth === null || n.level < depth);
  const cells = shown.flatMap(({ account, level }) => {
    const rows = figures.get(account.code);
    if (!rows) return [[accountLabel(account, level), account.type, "", "", "", "", ""]];
    return rows.map((r) => [accountLabel(account, level), account.type, r.currency, amountCell(r.closingBalance),
      amountCell(r.pendingDebit), amountCell(r.pendingCredit), amountCell(r.available)]);
  });
  return h("section", { id: "accounts" }, heading("Accounts"),
    filters([DEPTH], params, (values) => go("accounts", values)),
    table(columns, cells, { rowClass: (i) => (cells[i][2] ? undefined : "unposted") }));
}
