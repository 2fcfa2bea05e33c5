// The one way the app talks HTTP to our own JSON API: same-origin fetch with the session cookie,
// JSON in and out, the server's error message surfaced as an ApiError, and a 401 sending the
// agent back to sign in. qs() builds query strings, skipping empty values.

export class ApiError extends Error {
  constructor(message, status, code, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** JSON request to our own API (session cookie). Throws ApiError with the server's message. */
let leaving = false;
/**
 * Goes to the sign-in page, once: the sign-out button, a 401 from any request and a revoked
 * socket may all ask within a moment, and a second navigation would abort the first.
 */
export function toSignIn() {
  if (leaving) return;
  leaving = true;
  window.location.assign('/sign-in');
}

export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (_) {
    throw new ApiError('Could not reach the server. Check your connection.', 0, 'network');
  }
  if (res.status === 401) {
    toSignIn();
    throw new ApiError('Your session ended. Please sign in again.', 401, 'unauthorized');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(err.message || `Request failed (HTTP ${res.status}).`, res.status, err.code, err.field);
  }
  return data;
}

export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}
