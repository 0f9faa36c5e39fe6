// Small DOM helpers: elements built with properties (never HTML strings, never inline
// styles: the page's policy refuses style attributes), tables, CSV downloads.
import { query } from "./api.js";
import { isNegative, money } from "./format.js";

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

// A table cell holding an amount: right-aligned, negative ones marked, the exact value in
// data-value (what the browser test compares with the GraphQL answer).
export function amountCell(value) {
  return h("td", { class: isNegative(value) ? "num neg" : "num", dataset: { value: value ?? "" } }, money(value));
}

export function link(href, text) {
  return h("a", { href }, text);
}

// columns: [{label, num}]; rows: arrays of cells (a <td>, or text). `rowClass(row index)`.
export function table(columns, rows, { caption, rowClass, footer, id } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : undefined }, c.label)));
  const asCell = (cell) => (cell instanceof HTMLElement && cell.tagName === "TD" ? cell : h("td", {}, cell ?? ""));
  const body = rows.map((cells, i) => h("tr", { class: rowClass ? rowClass(i) : undefined }, cells.map(asCell)));
  const foot = footer ? h("tfoot", {}, footer.map((cells) => h("tr", {}, cells.map(asCell)))) : null;
  return h("div", { class: "table-wrap" },
    h("table", { id }, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body), foot));
}

// A button that fetches one of the API's *Csv queries and saves its text as a file.
export function csvButton(field, csvQuery, variables, filename) {
  return h("button", {
    type: "button",
    class: "csv",
    dataset: { csv: field },
    onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        const data = await query(csvQuery, variables);
        const url = URL.createObjectURL(new Blob([data[field]], { type: "text/csv" }));
        const anchor = h("a", { href: url, download: filename });
        document.body.append(anchor);
        anchor.click();
        anchor.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      } catch (error) {
        button.after(h("span", { class: "error" }, ` ${error.message}`));
      } finally {
        button.disabled = false;
      }
    },
  }, "Download CSV");
}

// A form of filters; on submit, `go(values)` (the page updates the URL's hash with them).
export function filters(fields, values, go) {
  const inputs = fields.map((f) =>
    h("label", {}, f.label, " ",
      f.options
        ? h("select", { name: f.name }, f.options.map(([v, text]) => h("option", { value: v, selected: values[f.name] === v }, text)))
        : h("input", { name: f.name, type: f.type || "text", value: values[f.name] || "", placeholder: f.placeholder || "" })));
  return h("form", {
    class: "filters",
    onsubmit: (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(event.currentTarget).entries());
      go(Object.fromEntries(Object.entries(data).filter(([, v]) => v !== "")));
    },
  }, inputs, h("button", { type: "submit" }, "Show"));
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}
