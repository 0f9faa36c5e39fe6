// Amounts arrive as decimal strings in the currency's decimals ("-1200.00"): they are shown
// as they are, grouped by thousands, never through a float.
export function money(value) {
  if (value === null || value === undefined) return "";
  const negative = value.startsWith("-");
  const [whole, fraction] = (negative ? value.slice(1) : value).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "\u2212" : "") + grouped + (fraction !== undefined ? "." + fraction : "");
}

export function isNegative(value) {
  return typeof value === "string" && value.startsWith("-") && /[1-9]/.test(value);
}

export function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

export function today() {
  return isoDate(new Date());
}

export function startOfYear() {
  return `${new Date().getFullYear()}-01-01`;
}

// The month (YYYY-MM) of an ISO date, for chart labels.
export function month(iso) {
  return iso.slice(0, 7);
}
