// The chart of accounts as a tree: the trial balance report's rows (parents summing their
// subtree, `depth` folding deeper accounts into their ancestors) with posted, pending and
// available figures per currency; accounts with nothing posted listed after them.
import { query } from "../api.js";
import { amountCell, filters, h, table } from "../dom.js";
import { DEPTH, accountLabel, heading, intOrNull } from "./common.js";

export const ACCOUNT_TREE = `query BooksAccountTree($depth: Int) {
  trialBalanceReport(depth: $depth) {
    rows { account { code name active type } level currency closingBalance pendingDebit pendingCredit available }
  }
}`;

const ALL_ACCOUNTS = `query BooksAccounts($after: String) {
  accounts(first: 500, after: $after) { nodes { code name type active } pageInfo { hasNextPage endCursor } }
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

export async function render(params, { go }) {
  const [tree, accounts] = await Promise.all([
    query(ACCOUNT_TREE, { depth: intOrNull(params.depth) }), allAccounts()]);
  const rows = tree.trialBalanceReport.rows;
  const posted = new Set(rows.map((r) => r.account.code));
  const columns = [{ label: "Account" }, { label: "Type" }, { label: "Currency" },
    { label: "Posted (debit − credit)", num: true }, { label: "Pending debit", num: true },
    { label: "Pending credit", num: true }, { label: "Available", num: true }];
  const cells = rows.map((r) => [accountLabel(r.account, r.level), r.account.type, r.currency,
    amountCell(r.closingBalance), amountCell(r.pendingDebit), amountCell(r.pendingCredit), amountCell(r.available)]);
  const unposted = accounts.filter((a) => !posted.has(a.code));
  return h("section", { id: "accounts" }, heading("Accounts"),
    filters([DEPTH], params, (values) => go("accounts", values)),
    table(columns, cells),
    unposted.length && !params.depth ? h("div", {}, h("h2", {}, "Nothing posted yet"),
      table([{ label: "Account" }, { label: "Type" }], unposted.map((a) => [accountLabel(a), a.type]))) : null);
}
