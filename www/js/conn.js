// conn.js: the WebSocket session of tickd-protocol(7): subprotocol tick.v2
// with a fallback to tick.v1, the auth frame, requests matched to their
// replies by ref, and reconnection with exponential backoff.

const BACKOFF_MIN = 500;	// ms
const BACKOFF_MAX = 30000;
const REQUEST_TIMEOUT = 10000;

export class Conn extends EventTarget {
	constructor(token) {
		super();
		this.token = token;
		this.ws = null;
		this.attempt = 0;
		this.v1only = false;	// the server refused tick.v2
		this.stopped = false;
		this.badToken = false;	// the server refused the token
		this.ready = false;
		this.refs = new Map();	// ref -> {resolve, timer}
		this.nextRef = 1;
		this.timer = null;
	}

	// Connects now; reconnects by itself until stop().
	start() {
		this.stopped = false;
		this.open();
	}

	stop() {
		this.stopped = true;
		clearTimeout(this.timer);
		if (this.ws)
			this.ws.close(1000);
		this.ws = null;
	}

	open() {
		const url = new URL("/v1/ws", location.href);
		url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
		const ws = new WebSocket(url,
			this.v1only ? ["tick.v1"] : ["tick.v2", "tick.v1"]);
		let opened = false;
		this.ws = ws;
		this.state("connecting");
		ws.onopen = () => {
			opened = true;
			ws.send(JSON.stringify({ op: "auth", token: this.token }));
		};
		ws.onmessage = (ev) => this.frame(ev.data);
		ws.onclose = (ev) => {
			if (this.ws !== ws)
				return;
			this.ws = null;
			this.ready = false;
			this.failRefs();
			// A handshake that never opened: try the other subprotocol
			// offer next time.
			if (!opened)
				this.v1only = !this.v1only;
			if (ev.code === 4000) {
				this.state("replaced");
				return;
			}
			if (this.stopped || this.badToken) {
				this.state(this.badToken ? "bad_token" : "stopped");
				return;
			}
			this.retry();
		};
	}

	// Waits backoff × 2^attempt (with jitter) before connecting again.
	retry() {
		const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt);
		this.attempt++;
		this.state("offline", delay);
		this.timer = setTimeout(() => this.open(),
			delay / 2 + Math.random() * delay / 2);
	}

	state(name, delay) {
		this.dispatchEvent(new CustomEvent("state",
			{ detail: { state: name, delay } }));
	}

	frame(text) {
		let f;
		try {
			f = JSON.parse(text);
		} catch (e) {
			return;
		}
		if (typeof f !== "object" || f === null || typeof f.op !== "string")
			return;
		if (f.op === "ready") {
			this.ready = true;
			this.attempt = 0;
			this.state("online");
		}
		if (f.op === "error" && f.code === "bad_token")
			this.badToken = true;
		if (f.ref !== undefined && this.refs.has(f.ref)) {
			const r = this.refs.get(f.ref);
			this.refs.delete(f.ref);
			clearTimeout(r.timer);
			r.resolve(f);
			return;
		}
		this.dispatchEvent(new CustomEvent("frame", { detail: f }));
	}

	// Sends a frame if connected; false when it could not.
	send(obj) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
			return false;
		this.ws.send(JSON.stringify(obj));
		return true;
	}

	// Sends obj with a fresh ref; resolves with the reply carrying it
	// (ok, error or a named reply), or an error frame of our own making.
	request(obj) {
		const ref = `r${this.nextRef++}`;
		return new Promise((resolve) => {
			if (!this.send({ ...obj, ref })) {
				resolve({ op: "error", code: "offline", ref });
				return;
			}
			const timer = setTimeout(() => {
				this.refs.delete(ref);
				resolve({ op: "error", code: "timeout", ref });
			}, REQUEST_TIMEOUT);
			this.refs.set(ref, { resolve, timer });
		});
	}

	failRefs() {
		for (const [ref, r] of this.refs) {
			clearTimeout(r.timer);
			r.resolve({ op: "error", code: "offline", ref });
		}
		this.refs.clear();
	}
}
