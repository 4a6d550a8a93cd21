// api.js: the HTTP routes of tickd-protocol(7): register, login, logout,
// /v1/info and /v1/media.  Errors are thrown as ApiError with the server's
// code ("name_taken", "bad_credentials", ...).

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code);
		this.status = status;
		this.code = code;
	}
}

// One request; the decoded JSON answer, or an ApiError.
async function call(method, path, { body, token, type } = {}) {
	const headers = {};
	if (token)
		headers.Authorization = `Bearer ${token}`;
	if (body !== undefined && !(body instanceof Blob)) {
		headers["Content-Type"] = "application/json";
		body = JSON.stringify(body);
	} else if (body !== undefined)
		headers["Content-Type"] = type || "application/octet-stream";
	let res;
	try {
		res = await fetch(path, { method, headers, body });
	} catch (e) {
		throw new ApiError(0, "network", "cannot reach the server");
	}
	if (res.status === 204)
		return null;
	let json = null;
	try {
		json = await res.json();
	} catch (e) {
		json = null;
	}
	if (!res.ok)
		throw new ApiError(res.status, json?.error || `http_${res.status}`,
			json?.message);
	return json;
}

export const register = (user, password) =>
	call("POST", "/v1/register", { body: { user, password } });

export const login = (user, password, device) =>
	call("POST", "/v1/login", { body: { user, password, device } });

export const logout = (token) => call("POST", "/v1/logout", { token });

// GET /v1/info; null from a server without it (version 1).
export async function info() {
	try {
		return await call("GET", "/v1/info");
	} catch (e) {
		return null;
	}
}

// POST /v1/media: {media, url, size, type, sha256, ts}.
export const upload = (token, file) =>
	call("POST", "/v1/media", { body: file, token, type: file.type });

// GET /v1/media/ID as a Blob (the bearer goes in a header, not the URL).
export async function download(token, id) {
	const res = await fetch(`/v1/media/${encodeURIComponent(id)}`,
		{ headers: { Authorization: `Bearer ${token}` } });
	if (!res.ok)
		throw new ApiError(res.status, "no_such_media");
	return res.blob();
}
