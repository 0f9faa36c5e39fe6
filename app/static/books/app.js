// The viewer's shell: the key prompt, the tenant, the navigation and the hash router
// (#/page?name=value: every page is this one HTML document, so the server has one route).
import { ApiError, credentials, query } from "./api.js";
import { errorBox, h } from "./dom.js";
import * as accounts from "./pages/accounts.js";
import * as account from "./pages/account.js";
import * as balanceSheet from "./pages/balance_sheet.js";
import * as reports from "./pages/reports.js";
import * as journal from "./pages/journal.js";

const PAGES = {
  accounts: accounts.render,
  account: account.render,
  "trial-balance": reports.trialBalance,
  "balance-sheet": balanceSheet.render,
  "income-statement": reports.incomeStatement,
  journal: journal.render,
  entry: journal.entry,
};

const main = document.getElementById("main");
const keyForm = document.getElementById("key-form");
const keyError = document.getElementById("key-error");
let tenant = null;

export function route() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  return { page: path || "accounts", params: Object.fromEntries(new URLSearchParams(search || "")) };
}

// Navigates to a page with its parameters (empty ones left out).
export function go(page, params = {}) {
  const kept = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  location.hash = `#/${page}${kept.length ? "?" + new URLSearchParams(kept) : ""}`;
}

function askForKey(message = "") {
  tenant = null;
  document.getElementById("who").textContent = "";
  document.getElementById("forget").hidden = true;
  main.replaceChildren();
  keyForm.hidden = false;
  keyError.textContent = message;
  document.getElementById("key").focus();
}

async function openBooks() {
  try {
    tenant = (await query("query BooksTenant { tenant { slug name baseCurrency } }")).tenant;
  } catch (error) {
    const several = error instanceof ApiError && /several tenants/.test(error.message);
    credentials.forget();
    askForKey(several ? "This key reaches several tenants: give the tenant's slug." : error.message);
    return;
  }
  keyForm.hidden = true;
  document.getElementById("forget").hidden = false;
  document.getElementById("who").textContent = `${tenant.name} (${tenant.slug}, ${tenant.baseCurrency})`;
  await show();
}

async function show() {
  if (!tenant) return;
  const { page, params } = route();
  const render = PAGES[page] || PAGES.accounts;
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${page}`);
  }
  main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  main.dataset.state = "loading";
  try {
    const content = await render(params, { tenant, go });
    main.replaceChildren(content);
    // Keyboard users start at the new page's content, not at the link they followed.
    if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
  // What the browser test waits for: this route's content in place.
  main.dataset.page = page;
  main.dataset.route = location.hash;
  main.dataset.state = "ready";
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("key").value.trim();
  const slug = document.getElementById("tenant").value.trim();
  document.getElementById("key").value = "";
  credentials.set(key, slug);
  openBooks();
});
document.getElementById("forget").addEventListener("click", () => {
  credentials.forget();
  askForKey();
});
window.addEventListener("hashchange", show);

if (credentials.key) openBooks();
else askForKey();
