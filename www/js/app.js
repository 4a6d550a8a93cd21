// app.js: the tickd web client.  It speaks only the public protocol of
// tickd-protocol(7) and keeps the history in IndexedDB (db.js), written
// before each ack, because the server forgets an item once it is acked.

import * as api from "./api.js";
import { Conn } from "./conn.js";
import { openDb, done } from "./db.js";
import * as view from "./view.js";

const RANK = { failed: -1, pending: 0, sent: 1, delivered: 2, read: 3 };
const TYPING_IDLE = 3000;	// ms without a key press before "paused"
const TYPING_SHOWN = 6000;	// longest a "composing" stays on screen

const S = {
	session: null,		// {user, device, token}
	db: null,
	conn: null,
	info: null,		// GET /v1/info, null on a version 1 server
	current: null,		// the open chat: a user or a "#group"
	chats: new Map(),	// chat -> {chat, title, unread, last}
	groups: new Map(),	// "#group" -> group_info
	presence: new Map(),	// user -> {online, last_seen}
	blocks: new Set(),
	typingShown: new Map(),	// chat -> timer
	typingSent: 0,
	typingTimer: null,
	queue: Promise.resolve(),
};

const $ = (id) => document.getElementById(id);
const isGroup = (name) => typeof name === "string" && name.startsWith("#");

// A client id for send: 1-64 bytes, random, also outside secure contexts.
function newId() {
	const b = crypto.getRandomValues(new Uint8Array(12));
	return "w-" + Array.from(b, (x) => x.toString(16).padStart(2, "0"))
		.join("");
}

// The device name a browser suggests: its family, "chrome-web" etc.
function browserDevice() {
	const ua = navigator.userAgent;
	const name = /Edg\//.test(ua) ? "edge" : /Firefox\//.test(ua) ?
		"firefox" : /Chrome\//.test(ua) ? "chrome" : /Safari\//.test(ua) ?
		"safari" : "browser";
	return `${name}-web`;
}

function showError(text) {
	view.error(text);
}

// The message an error frame deserves on screen.
function errorText(f, what) {
	if (f.code === "unknown_op")
		return `${what}: this server does not support it (unknown_op)`;
	return `${what}: ${f.code}${f.message ? ` (${f.message})` : ""}`;
}

/* ------------------------------------------------------------ session */

async function startSession(session) {
	S.session = session;
	localStorage.setItem("tickd.session", JSON.stringify(session));
	S.db = await openDb(session.user);
	for (const c of await S.db.all("chats"))
		S.chats.set(c.chat, c);
	const blocks = await S.db.get("meta", "blocks");
	S.blocks = new Set(blocks?.users || []);
	view.loggedIn(session);
	renderChats();
	S.info = await api.info();
	S.conn = new Conn(session.token);
	S.conn.addEventListener("state", (ev) => connState(ev.detail));
	S.conn.addEventListener("frame", (ev) => {
		const f = ev.detail;
		S.queue = S.queue.then(() => handle(f)).catch((e) =>
			showError(`could not store an item: ${e.message || e}`));
	});
	S.conn.start();
	const last = localStorage.getItem(`tickd.open.${session.user}`);
	if (last)
		openChat(last);
}

function endSession(message) {
	if (S.conn)
		S.conn.stop();
	if (S.db)
		S.db.close();
	Object.assign(S, { session: null, db: null, conn: null, current: null });
	S.chats.clear();
	S.groups.clear();
	S.presence.clear();
	localStorage.removeItem("tickd.session");
	view.loggedOut();
	if (message)
		showError(message);
}

function connState({ state, delay }) {
	const text = {
		connecting: "connecting…",
		online: "online",
		offline: `offline, retrying in ${Math.round((delay || 0) / 1000)} s`,
		replaced: "opened in another window; reload to use this one",
		stopped: "",
	}[state];
	if (state === "bad_token") {
		endSession("Your session ended; log in again.");
		return;
	}
	view.status(text ?? state);
}

/* ------------------------------------------------------------ frames */

const handlers = {
	ready: onReady,
	msg: onMsg,
	sent: onSent,
	receipt: onReceipt,
	group_event: onGroupEvent,
	typing: onTyping,
	presence: onPresence,
	blocks: (f) => setBlocks(f.users),
	error: onError,
};

async function handle(f) {
	const fn = handlers[f.op];
	if (fn) {
		await fn(f);
		return;
	}
	// An item of a kind this client does not know: hold it, or the queue
	// would stall once window items wait.
	if (typeof f.mid === "string")
		S.conn.send({ op: "ack", mid: f.mid });
}

async function onReady() {
	view.clearError();
	S.conn.send({ op: "blocks" });
	const users = [...S.chats.keys()].filter((c) => !isGroup(c));
	if (users.length)
		S.conn.send({ op: "subscribe", users });
	// Sends that never got their "sent" go again with the same id: the
	// server answers a repeat with the first reply (dedup_window).
	const all = await S.db.all("messages");
	for (const m of all.filter((m) => m.out && m.status === "pending"))
		S.conn.send(sendFrame(m));
	loadGroups();
}

async function loadGroups() {
	const r = await S.conn.request({ op: "groups" });
	if (r.op !== "groups")
		return;		// a version 1 server: no groups to list
	for (const g of r.groups)
		await touchChat(g.group, { title: g.title });
	renderChats();
}

// Creates or updates a chat entry; returns it (stored).
async function touchChat(chat, changes = {}) {
	const c = { chat, title: chat, unread: 0, last: 0,
		...S.chats.get(chat), ...changes };
	S.chats.set(chat, c);
	await S.db.write(["chats"], (st) => st.chats.put(c));
	return c;
}

// Whether the user can see chat now.
function visible(chat) {
	return S.current === chat && document.visibilityState === "visible";
}

async function onMsg(f) {
	const me = S.session.user;
	const chat = isGroup(f.to) ? f.to : f.from === me ? f.to : f.from;
	const rec = {
		key: f.mid, mid: f.mid, id: f.id, chat, from: f.from, to: f.to,
		ts: f.ts, body: f.body, media: f.media || [], out: f.from === me,
		status: f.from === me ? "sent" : "received", readSent: false,
	};
	const unread = !rec.out && !visible(chat);
	const fresh = await S.db.write(["messages", "chats"], async (st) => {
		if (await done(st.messages.get(rec.key)))
			return false;	// a replay of what we hold already
		st.messages.put(rec);
		const c = { chat, title: chat, unread: 0, last: 0,
			...S.chats.get(chat) };
		c.last = Math.max(c.last, rec.ts);
		if (unread)
			c.unread++;
		S.chats.set(chat, c);
		st.chats.put(c);
		return true;
	});
	S.conn.send({ op: "ack", mid: f.mid });
	if (!fresh)
		return;
	hideTyping(chat, f.from);
	renderChats();
	if (S.current === chat) {
		view.message(rec, S.session, S.groups.get(chat));
		sendReads();
	}
}

function sendFrame(m) {
	const f = { op: "send", to: m.to, id: m.id, body: m.body };
	if (m.media && m.media.length)
		f.media = m.media;
	return f;
}

// Applies fn to the own message sent with id (or holding mid); returns it.
async function updateOwn(id, mid, fn) {
	return S.db.write(["messages"], async (st) => {
		let m = id ? await done(st.messages.get(`out:${id}`)) : null;
		if (!m && mid)
			m = await done(st.messages.index("mid").get(mid));
		if (!m)
			return null;
		fn(m);
		st.messages.put(m);
		return m;
	});
}

function raise(m, status) {
	if (RANK[status] > (RANK[m.status] ?? 0))
		m.status = status;
}

async function onSent(f) {
	const m = await updateOwn(f.id, null, (m) => {
		m.mid = f.mid;
		m.ts = f.ts;
		if (typeof f.expect === "number")
			m.expect = f.expect;
		raise(m, "sent");
	});
	if (m && S.current === m.chat)
		view.message(m, S.session, S.groups.get(m.chat));
}

async function onReceipt(f) {
	const m = await updateOwn(f.id, f.for, (m) => {
		if (!f.group) {
			raise(m, f.status);
			return;
		}
		// In a group a tick stands for every other member.
		const set = new Set(m[f.status] || []);
		set.add(f.by);
		m[f.status] = [...set];
		const want = m.expect || 1;
		const got = new Set([...(m.delivered || []), ...(m.read || [])]);
		if (got.size >= want)
			raise(m, "delivered");
		if ((m.read || []).length >= want)
			raise(m, "read");
	});
	S.conn.send({ op: "ack", mid: f.mid });
	if (m && S.current === m.chat)
		view.message(m, S.session, S.groups.get(m.chat));
}

function eventText(f) {
	const users = (f.users || []).join(", ");
	return {
		created: `${f.by} created the group “${f.title}”`,
		added: `${f.by} added ${users}`,
		removed: `${f.by} removed ${users}`,
		left: `${users} left`,
		role: `${f.user} is now ${f.role}`,
		set: `${f.by} changed the group` +
			(f.title ? ` title to “${f.title}”` : ""),
	}[f.event] || `${f.event} by ${f.by}`;
}

async function onGroupEvent(f) {
	const rec = { key: f.mid, mid: f.mid, chat: f.group, ts: f.ts,
		event: true, text: eventText(f) };
	const changes = {};
	if (f.title)
		changes.title = f.title;
	await S.db.write(["messages", "chats"], async (st) => {
		if (await done(st.messages.get(rec.key)))
			return;
		st.messages.put(rec);
		const c = { chat: f.group, title: f.group, unread: 0, last: 0,
			...S.chats.get(f.group), ...changes };
		c.last = Math.max(c.last, f.ts);
		S.chats.set(f.group, c);
		st.chats.put(c);
	});
	S.conn.send({ op: "ack", mid: f.mid });
	S.groups.delete(f.group);	// stale: fetched again when needed
	renderChats();
	if (S.current === f.group) {
		view.message(rec, S.session);
		refreshGroup(f.group);
	}
}

function onTyping(f) {
	const chat = isGroup(f.to) ? f.to : f.from;
	if (f.state !== "composing") {
		hideTyping(chat, f.from);
		return;
	}
	clearTimeout(S.typingShown.get(chat));
	S.typingShown.set(chat, setTimeout(() => hideTyping(chat, f.from),
		TYPING_SHOWN));
	if (S.current === chat)
		view.typing(`${f.from} is typing…`);
}

function hideTyping(chat) {
	clearTimeout(S.typingShown.get(chat));
	S.typingShown.delete(chat);
	if (S.current === chat)
		view.typing("");
}

function onPresence(f) {
	S.presence.set(f.user, f);
	if (S.current === f.user)
		view.presence(f);
}

async function setBlocks(users) {
	S.blocks = new Set(users);
	await S.db.write(["meta"], (st) => st.meta.put({ k: "blocks", users }));
	if (S.current && !isGroup(S.current))
		view.blocked(S.blocks.has(S.current));
}

async function onError(f) {
	if (f.id) {
		const m = await updateOwn(f.id, null, (m) => {
			m.status = "failed";
			m.error = f.code;
		});
		if (m && S.current === m.chat)
			view.message(m, S.session, S.groups.get(m.chat));
	}
	showError(errorText(f, f.id ? "sending failed" : "the server said"));
}

/* ------------------------------------------------------------ chats */

function renderChats() {
	const list = [...S.chats.values()].sort((a, b) => b.last - a.last);
	view.chats(list, S.current, openChat);
}

async function openChat(chat) {
	if (!S.session)
		return;
	S.current = chat;
	localStorage.setItem(`tickd.open.${S.session.user}`, chat);
	const c = S.chats.get(chat);
	if (!c || c.unread)
		await touchChat(chat, { unread: 0 });
	view.openChat(chat, S.chats.get(chat).title, isGroup(chat));
	renderChats();
	const msgs = await S.db.chat(chat);
	view.messages(msgs, S.session, S.groups.get(chat));
	if (isGroup(chat)) {
		refreshGroup(chat);
	} else {
		view.blocked(S.blocks.has(chat));
		view.presence(S.presence.get(chat) || null);
		S.conn?.send({ op: "subscribe", users: [chat] });
	}
	sendReads();
}

async function refreshGroup(group) {
	if (!S.conn?.ready)
		return;
	const r = await S.conn.request({ op: "group_info", group });
	if (r.op === "group_info") {
		S.groups.set(group, r);
		if (S.chats.get(group)?.title !== r.title) {
			await touchChat(group, { title: r.title });
			renderChats();
			if (S.current === group)
				view.openChat(group, r.title, true);
		}
		view.members(r, S.session.user, memberAction);
	}
}

// Tells the server which messages of the open chat the user has seen.
async function sendReads() {
	const chat = S.current;
	if (!chat || !visible(chat) || !S.conn?.ready)
		return;
	const unread = (await S.db.chat(chat)).filter((m) =>
		!m.out && !m.event && !m.readSent);
	if (!unread.length)
		return;
	if (!S.conn.send({ op: "read", mids: unread.map((m) => m.mid) }))
		return;
	await S.db.write(["messages"], (st) => {
		for (const m of unread)
			st.messages.put({ ...m, readSent: true });
	});
}

/* ------------------------------------------------------------ sending */

async function send(body, media) {
	const chat = S.current;
	const m = { key: "", id: newId(), chat, from: S.session.user, to: chat,
		ts: Date.now(), body, media: media || [], out: true,
		status: "pending" };
	m.key = `out:${m.id}`;
	await S.db.write(["messages", "chats"], (st) => {
		st.messages.put(m);
		const c = { ...S.chats.get(chat), last: m.ts };
		S.chats.set(chat, c);
		st.chats.put(c);
	});
	view.message(m, S.session, S.groups.get(chat));
	renderChats();
	S.conn.send(sendFrame(m));
}

function onCompose(ev) {
	ev.preventDefault();
	const input = $("message");
	const text = input.value.trim();
	if (!text || !S.current)
		return;
	input.value = "";
	typingStop();
	send(text);
}

function onInput() {
	if (!S.current || !S.conn)
		return;
	const now = Date.now();
	if (now - S.typingSent > TYPING_IDLE) {
		S.conn.send({ op: "typing", to: S.current, state: "composing" });
		S.typingSent = now;
	}
	clearTimeout(S.typingTimer);
	S.typingTimer = setTimeout(typingStop, TYPING_IDLE);
}

function typingStop() {
	clearTimeout(S.typingTimer);
	if (S.typingSent && S.current)
		S.conn?.send({ op: "typing", to: S.current, state: "paused" });
	S.typingSent = 0;
}

async function onFile() {
	const file = $("file").files[0];
	$("file").value = "";
	if (!file || !S.current)
		return;
	if (S.info && file.size > S.info.max_media_bytes) {
		showError(`attaching failed: ${file.name} is larger than ` +
			`${S.info.max_media_bytes} bytes`);
		return;
	}
	let up;
	try {
		up = await api.upload(S.session.token, file);
	} catch (e) {
		showError(e.status === 404 ? "attaching failed: this server " +
			"does not accept attachments (no /v1/media)" :
			`attaching failed: ${e.code}`);
		return;
	}
	view.remember(up.media, file);
	send({ text: "", file: { name: file.name, type: up.type || file.type,
		size: up.size } }, [up.media]);
}

/* ------------------------------------------------------------ groups */

async function createGroup(ev) {
	ev.preventDefault();
	const title = $("group-title").value.trim();
	const members = $("group-members").value.split(/[\s,]+/)
		.filter(Boolean);
	$("group-dialog").close();
	const r = await S.conn.request({ op: "group_create", title, members });
	if (r.op !== "group_info") {
		showError(errorText(r, "creating the group failed"));
		return;
	}
	S.groups.set(r.group, r);
	await touchChat(r.group, { title: r.title, last: r.created });
	if (r.refused?.length)
		showError(`not added: ${r.refused.join(", ")}`);
	openChat(r.group);
}

async function memberAction(action, user) {
	const group = S.current;
	const req = {
		add: { op: "group_add", group, users: [user] },
		remove: { op: "group_remove", group, users: [user] },
		admin: { op: "group_role", group, user, role: "admin" },
		member: { op: "group_role", group, user, role: "member" },
		leave: { op: "group_leave", group },
	}[action];
	const r = await S.conn.request(req);
	if (r.op === "error")
		showError(errorText(r, `${action} failed`));
	else if (r.refused?.length)
		showError(`not added: ${r.refused.join(", ")}`);
	if (action === "leave") {
		$("members-dialog").close();
		return;
	}
	refreshGroup(group);
}

/* ------------------------------------------------------------ misc */

async function toggleBlock() {
	const user = S.current;
	const op = S.blocks.has(user) ? "unblock" : "block";
	const r = await S.conn.request({ op, user });
	if (r.op !== "ok") {
		showError(errorText(r, `${op} failed`));
		return;
	}
	const users = new Set(S.blocks);
	if (op === "block")
		users.add(user);
	else
		users.delete(user);
	setBlocks([...users]);
}

async function saveSettings(ev) {
	ev.preventDefault();
	$("settings-dialog").close();
	const s = {
		read_receipts: $("set-receipts").checked,
		last_seen: $("set-last-seen").value,
		group_add: $("set-group-add").value,
	};
	let r = await S.conn.request({ op: "settings", ...s });
	if (r.op === "error" && r.code === "bad_request") {
		// A version 1 server knows no group_add.
		const { group_add: _, ...v1 } = s;
		r = await S.conn.request({ op: "settings", ...v1 });
	}
	if (r.op !== "ok") {
		showError(errorText(r, "saving the settings failed"));
		return;
	}
	await S.db.write(["meta"], (st) => st.meta.put({ k: "settings", ...s }));
}

async function openSettings() {
	const s = await S.db.get("meta", "settings");
	$("set-receipts").checked = s ? s.read_receipts : true;
	$("set-last-seen").value = s?.last_seen || "everyone";
	$("set-group-add").value = s?.group_add || "everyone";
	$("settings-dialog").showModal();
}

async function onLogin(ev, registering) {
	ev.preventDefault();
	const form = $("login-form");
	if (!form.reportValidity())
		return;
	const user = $("login-user").value.trim();
	const password = $("login-password").value;
	const device = $("login-device").value.trim();
	localStorage.setItem("tickd.device", device);
	view.clearError();
	try {
		if (registering)
			await api.register(user, password);
		const r = await api.login(user, password, device);
		$("login-password").value = "";
		await startSession({ user: r.user, device: r.device,
			token: r.token });
	} catch (e) {
		showError(`${registering ? "registering" : "logging in"} failed: ` +
			`${e.code}`);
	}
}

async function onLogout() {
	const token = S.session?.token;
	endSession();
	if (token) {
		try {
			await api.logout(token);
		} catch (e) {
			// The token is forgotten here either way.
		}
	}
}

function init() {
	$("login-device").value = localStorage.getItem("tickd.device") ||
		browserDevice();
	$("login-form").addEventListener("submit", (ev) => onLogin(ev, false));
	$("register").addEventListener("click", (ev) => onLogin(ev, true));
	$("logout").addEventListener("click", onLogout);
	$("start-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const user = $("start-user").value.trim();
		if (!user)
			return;
		$("start-user").value = "";
		await touchChat(user);
		openChat(user);
	});
	$("compose").addEventListener("submit", onCompose);
	$("message").addEventListener("input", onInput);
	$("attach").addEventListener("click", () => $("file").click());
	$("file").addEventListener("change", onFile);
	$("block").addEventListener("click", toggleBlock);
	$("group-new").addEventListener("click", () => {
		$("group-form").reset();
		$("group-dialog").showModal();
	});
	$("group-form").addEventListener("submit", createGroup);
	$("group-cancel").addEventListener("click", () =>
		$("group-dialog").close());
	$("group-manage").addEventListener("click", () => {
		refreshGroup(S.current);
		$("members-dialog").showModal();
	});
	$("member-add-form").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const user = $("member-add").value.trim();
		$("member-add").value = "";
		memberAction("add", user);
	});
	$("group-leave").addEventListener("click", () => memberAction("leave"));
	$("members-close").addEventListener("click", () =>
		$("members-dialog").close());
	$("settings-open").addEventListener("click", openSettings);
	$("settings-form").addEventListener("submit", saveSettings);
	$("settings-cancel").addEventListener("click", () =>
		$("settings-dialog").close());
	document.addEventListener("visibilitychange", sendReads);
	window.addEventListener("focus", sendReads);
	view.setMediaLoader((id) => api.download(S.session.token, id));
	const saved = localStorage.getItem("tickd.session");
	if (saved)
		startSession(JSON.parse(saved)).catch((e) => showError(e.message));
}

init();
