// What several pages share: account labels, valuation and depth fields.
import { h, link } from "../dom.js";

export const ACCOUNT = "account { code name active }";

// An account's code and name, linked to its page; deactivated accounts dimmed.
export function accountLabel(account, level = 0) {
  return h("td", { class: `account level-${Math.min(level, 6)}${account.active ? "" : " inactive"}` },
    link(`#/account?code=${encodeURIComponent(account.code)}`, `${account.code} ${account.name}`));
}

export const DEPTH = { name: "depth", label: "Depth", options: [["", "all"], ["1", "1"], ["2", "2"], ["3", "3"]] };
export const VALUE_IN = { name: "valueIn", label: "Value in", placeholder: "e.g. EUR" };
export const METHOD = { name: "method", label: "Rates", options: [["END", "at the end"], ["THEN", "of each day"]] };

export function valuation(params) {
  return params.valueIn ? { currency: params.valueIn.toUpperCase(), method: params.method || "END" } : null;
}

export function intOrNull(value) {
  return value ? Number.parseInt(value, 10) : null;
}

export function heading(text, ...rest) {
  return h("h1", {}, text, ...rest);
}
