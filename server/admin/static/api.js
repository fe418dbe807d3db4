// The console's only way to the server: same-origin fetch of the JSON API. The browser presents
// the admin client certificate; POSTs are JSON, which together with the server's Origin check
// keeps other sites from acting through an admin's browser.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function parse(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(
      res.status,
      'INTERNAL',
      `the server answered ${res.status} with something that is not JSON`,
    );
  }
  if (!res.ok) {
    const err = body?.error ?? {};
    throw new ApiError(
      res.status,
      err.code ?? 'UNKNOWN',
      err.message ?? `request failed with HTTP ${res.status}`,
    );
  }
  return body;
}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null),
  );
  const url = query.size > 0 ? `${path}?${query}` : path;
  return parse(await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' }));
}

export async function postJson(path, body) {
  return parse(
    await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
    }),
  );
}
