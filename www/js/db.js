// db.js: the history kept in the browser (IndexedDB).  The server deletes
// each item once it is acked, so whatever the user should see after a
// reload must be written here before the ack goes out.

const VERSION = 1;

// Opens (creating on first use) the database of one user on this browser.
export function openDb(user) {
	return new Promise((resolve, reject) => {
		const req = indexedDB.open(`tickd-${user}`, VERSION);
		req.onupgradeneeded = () => {
			const db = req.result;
			// Received items are keyed by mid, own sends by "out:" + id,
			// so a replayed item is stored once (dedup by mid).
			const m = db.createObjectStore("messages", { keyPath: "key" });
			m.createIndex("chat", ["chat", "ts"]);
			m.createIndex("mid", "mid");
			db.createObjectStore("chats", { keyPath: "chat" });
			db.createObjectStore("meta", { keyPath: "k" });
		};
		req.onsuccess = () => resolve(new Db(req.result));
		req.onerror = () => reject(req.error);
	});
}

// A promise for an IDBRequest's result.
function done(req) {
	return new Promise((resolve, reject) => {
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error);
	});
}

class Db {
	constructor(idb) {
		this.idb = idb;
	}

	// Runs fn(stores) in one readwrite transaction; resolves once it is
	// committed, so a caller may ack what it wrote.
	write(names, fn) {
		return new Promise((resolve, reject) => {
			const tx = this.idb.transaction(names, "readwrite");
			const stores = Object.fromEntries(
				names.map((n) => [n, tx.objectStore(n)]));
			let result;
			Promise.resolve(fn(stores)).then((r) => { result = r; },
				(e) => { tx.abort(); reject(e); });
			tx.oncomplete = () => resolve(result);
			tx.onerror = () => reject(tx.error);
			tx.onabort = () => reject(tx.error);
		});
	}

	get(store, key) {
		return done(this.idb.transaction(store).objectStore(store).get(key));
	}

	all(store) {
		return done(this.idb.transaction(store).objectStore(store).getAll());
	}

	// Every stored item of one chat, oldest first.
	chat(chat) {
		const range = IDBKeyRange.bound([chat, -Infinity], [chat, Infinity]);
		return done(this.idb.transaction("messages").objectStore("messages")
			.index("chat").getAll(range));
	}

	byMid(mid) {
		return done(this.idb.transaction("messages").objectStore("messages")
			.index("mid").get(mid));
	}

	close() {
		this.idb.close();
	}
}

export { done };
