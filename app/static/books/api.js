// The viewer's only data path: POST /graphql with the key of this tab. Reads only: query()
// refuses any document that is not a query.
const KEY = "ledgerql.books.key";
const TENANT = "ledgerql.books.tenant";
const ENDPOINT = new URL("graphql", document.baseURI).pathname;

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

// sessionStorage only: the key lives as long as the tab, never in localStorage or a cookie.
export const credentials = {
  get key() {
    return sessionStorage.getItem(KEY) || "";
  },
  get tenant() {
    return sessionStorage.getItem(TENANT) || "";
  },
  set(key, tenant) {
    sessionStorage.setItem(KEY, key);
    if (tenant) sessionStorage.setItem(TENANT, tenant);
    else sessionStorage.removeItem(TENANT);
  },
  forget() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(TENANT);
  },
};

export async function query(document, variables = {}) {
  if (!/^\s*query\b/.test(document)) throw new Error("the viewer sends queries only");
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${credentials.key}` };
  if (credentials.tenant) headers["X-Tenant"] = credentials.tenant;
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers,
    body: JSON.stringify({ query: document, variables }),
    credentials: "omit",
  });
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered ${response.status}`, String(response.status));
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, (first.extensions && first.extensions.code) || String(response.status));
  }
  return body.data;
}
