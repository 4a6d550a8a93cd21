// view.js: the DOM of the web client.  Every control has an accessible
// name; each message is a listitem of the conversation log whose tick
// carries its status ("sent", "delivered", "read") as name and title.

const $ = (id) => document.getElementById(id);
const TICKS = {
	pending: ["🕓", "sending"],
	sent: ["✓", "sent"],
	delivered: ["✓✓", "delivered"],
	read: ["✓✓", "read"],
	failed: ["!", "failed"],
};

let loadMedia = null;		// id -> Promise<Blob>
const mediaUrls = new Map();	// id -> object URL

// Creates an element with attributes and children (strings become text).
function el(tag, attrs = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (k === "class")
			e.className = v;
		else if (k.startsWith("on"))
			e.addEventListener(k.slice(2), v);
		else if (v !== undefined && v !== null && v !== false)
			e.setAttribute(k, v === true ? "" : v);
	}
	for (const c of children.flat()) {
		if (c !== null && c !== undefined)
			e.append(c);
	}
	return e;
}

export function setMediaLoader(fn) {
	loadMedia = fn;
}

// A file this browser just uploaded: shown from memory, not downloaded.
export function remember(id, blob) {
	mediaUrls.set(id, URL.createObjectURL(blob));
}

function mediaUrl(id) {
	if (mediaUrls.has(id))
		return Promise.resolve(mediaUrls.get(id));
	return loadMedia(id).then((blob) => {
		const url = URL.createObjectURL(blob);
		mediaUrls.set(id, url);
		return url;
	});
}

export function error(text) {
	const e = $("error");
	e.textContent = text;
	e.hidden = false;
}

export function clearError() {
	$("error").hidden = true;
	$("error").textContent = "";
}

export function status(text) {
	$("status").textContent = text;
}

export function loggedIn(session) {
	$("login-view").hidden = true;
	$("chat-view").hidden = false;
	$("logout").hidden = false;
	$("settings-open").hidden = false;
	$("me").textContent = `${session.user} (${session.device})`;
}

export function loggedOut() {
	$("login-view").hidden = false;
	$("chat-view").hidden = true;
	$("logout").hidden = true;
	$("settings-open").hidden = true;
	$("me").textContent = "";
	$("chats").replaceChildren();
	$("messages").replaceChildren();
	$("conv-title").textContent = "No chat open";
	$("compose").hidden = true;
	status("");
}

export function chats(list, current, open) {
	$("chats").replaceChildren(...list.map((c) => el("li", {
		"aria-label": c.title, "aria-current": c.chat === current ?
			"true" : null, "data-chat": c.chat,
	}, el("button", { type: "button", onclick: () => open(c.chat) },
		el("span", {}, c.title),
		c.unread ? el("span", { class: "unread",
			"aria-label": `${c.unread} unread` }, String(c.unread)) :
			null))));
}

export function openChat(chat, title, group) {
	$("conv-title").textContent = title;
	$("compose").hidden = false;
	$("block").hidden = group;
	$("group-manage").hidden = !group;
	$("presence").textContent = "";
	$("typing").textContent = "";
	$("log").setAttribute("aria-label", `Conversation with ${title}`);
}

export function presence(p) {
	let text = "";
	if (p && p.online)
		text = "online";
	else if (p && p.last_seen)
		text = `last seen ${new Date(p.last_seen).toLocaleString()}`;
	$("presence").textContent = text;
}

export function blocked(is) {
	$("block").textContent = is ? "Unblock" : "Block";
}

export function typing(text) {
	$("typing").textContent = text;
}

// The order of messages: server time, then mid.
function sortKey(m) {
	const [ms, seq] = (m.mid || "").split("-");
	return [m.ts, Number(ms) || Number.MAX_SAFE_INTEGER, Number(seq) || 0];
}

function before(a, b) {
	for (let i = 0; i < a.length; i++) {
		if (a[i] !== b[i])
			return a[i] < b[i];
	}
	return false;
}

function bodyText(body) {
	if (typeof body === "string")
		return body;
	if (body && typeof body.text === "string")
		return body.text;
	return JSON.stringify(body);
}

function attachment(id, file) {
	const type = file?.type || "";
	if (type.startsWith("image/")) {
		const img = el("img", { alt: file?.name || "image" });
		mediaUrl(id).then((u) => { img.src = u; },
			() => { img.alt = `${file?.name || "image"} (gone)`; });
		return img;
	}
	const name = file?.name || "file";
	return el("button", { type: "button", class: "file", onclick: () =>
		mediaUrl(id).then((u) => {
			const a = el("a", { href: u, download: name });
			document.body.append(a);
			a.click();
			a.remove();
		}, () => error(`${name} is no longer on the server`)) },
	`Download ${name}`);
}

function messageItem(m, session, group) {
	if (m.event)
		return el("li", { class: "event" }, m.text);
	const out = m.from === session.user;
	const time = new Date(m.ts).toLocaleTimeString([], { hour: "2-digit",
		minute: "2-digit" });
	let tick = null;
	if (out) {
		const [glyph, name] = TICKS[m.status] || TICKS.sent;
		const title = m.error ? `${name}: ${m.error}` : name;
		tick = el("span", { class: `ticks ${m.status}`, title,
			"aria-label": title }, glyph);
	}
	const file = m.body && typeof m.body === "object" ? m.body.file : null;
	const text = bodyText(m.body);
	return el("li", { class: out ? "out" : "in", "data-status": out ?
		m.status : null, "data-mid": m.mid || null },
	!out && (group || m.to?.startsWith("#")) ?
		el("span", { class: "from" }, m.from) : null,
	(m.media || []).map((id) => attachment(id, file)),
	text ? el("span", { class: "body" }, text) : null,
	el("span", { class: "meta" }, time, tick));
}

// Adds or updates one message of the open chat, in order.
export function message(m, session, group) {
	const list = $("messages");
	const id = `m-${m.key}`;
	const item = messageItem(m, session, group);
	const key = sortKey(m);
	item.id = id;
	item.dataset.sort = JSON.stringify(key);
	const old = document.getElementById(id);
	if (old)
		old.remove();
	const next = [...list.children].find((li) =>
		before(key, JSON.parse(li.dataset.sort)));
	list.insertBefore(item, next || null);
	if (!next)
		$("log").scrollTop = $("log").scrollHeight;
}

export function messages(all, session, group) {
	$("messages").replaceChildren();
	for (const m of all)
		message(m, session, group);
}

export function members(info, me, act) {
	$("members-title").textContent = `Members of ${info.title}`;
	const mine = info.members.find((m) => m.user === me)?.role;
	const admin = mine === "owner" || mine === "admin";
	$("members").replaceChildren(...info.members.map((m) => el("li", {},
		`${m.user} (${m.role})`,
		admin && m.user !== me && m.role !== "owner" ? [
			el("button", { type: "button", onclick: () =>
				act(m.role === "admin" ? "member" : "admin", m.user) },
			m.role === "admin" ? `Make ${m.user} member` :
				`Make ${m.user} admin`),
			el("button", { type: "button", onclick: () =>
				act("remove", m.user) }, `Remove ${m.user}`),
		] : null)));
	$("member-add-form").hidden = !admin;
}
