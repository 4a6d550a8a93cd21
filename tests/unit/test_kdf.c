/* SPDX-License-Identifier: ISC */
/*
 * test_kdf.c: password hashes keep their KDF and cost (tickctl(8) user
 * import): the PHC string of scrypt parsed and refused, an imported cost
 * stored, and an account record written before the cost was stored read
 * as scrypt at the old cost.
 */
#include <stdio.h>
#include <string.h>

#define STORE_INTERNAL
#include "tickd.h"
#include "testlib.h"
#include "testlib-store.h"

#define MAP_SIZE	(16ULL << 20)

static char	base[256];

/* Salt 0..15 and hash 0..31 in base64, without padding. */
#define SALT	"AAECAwQFBgcICQoLDA0ODw"
#define HASH	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

/* Whether s is refused, with a reason. */
static int
refused(const char *s)
{
	struct user_rec	 u;
	const char	*why = NULL;

	return (account_hash_parse(s, &u, &why) == -1 && why != NULL);
}

/* account_hash_parse takes the PHC string of scrypt, and only that. */
static int
test_parse(void)
{
	struct user_rec	 u;
	const char	*why;
	int		 i;

	memset(&u, 0, sizeof u);
	CHECK(account_hash_parse("$scrypt$ln=10,r=4,p=2$" SALT "$" HASH, &u,
	    &why) == 0 && why == NULL);
	CHECK(u.kdf == KDF_SCRYPT && u.kdf_ln == 10 && u.kdf_r == 4 &&
	    u.kdf_p == 2);
	for (i = 0; i < 16; i++)
		CHECK(u.salt[i] == i);
	for (i = 0; i < 32; i++)
		CHECK(u.hash[i] == i);
	CHECK(account_hash_parse("$scrypt$ln=14,r=8,p=1$" SALT "==$" HASH "=",
	    &u, &why) == 0);
	CHECK(u.kdf_ln == 14);
	CHECK(refused(""));
	CHECK(refused("$argon2id$v=19$m=65536,t=3,p=4$" SALT "$" HASH));
	CHECK(refused("$scrypt$ln=10,r=8$" SALT "$" HASH));
	CHECK(refused("$scrypt$ln=0,r=8,p=1$" SALT "$" HASH));
	CHECK(refused("$scrypt$ln=10,r=0,p=1$" SALT "$" HASH));
	CHECK(refused("$scrypt$ln=10,r=8,p=0$" SALT "$" HASH));
	/* 2^16 * 8 * 128 bytes: over KDF_MAXMEM. */
	CHECK(refused("$scrypt$ln=16,r=8,p=1$" SALT "$" HASH));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$" SALT));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$" SALT "$"));
	/* 15 and 17 bytes of salt; 33 of hash; a bad character. */
	CHECK(refused("$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0O$" HASH));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODxA$" HASH));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$" SALT "$" HASH "AA"));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$" SALT "$" HASH "$"));
	CHECK(refused("$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0OD*$" HASH));
	/* Bits past the last byte must be zero. */
	CHECK(refused("$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODx$" HASH));
	return (0);
}

/*
 * An imported cost is stored and read back; an account written before
 * the cost was stored (the record 4 bytes shorter) reads as the old one.
 */
static int
test_record(void)
{
	struct env	 e;
	struct user_rec	 auth, u;
	struct nkey	 k;
	MDB_val		 v;
	uint8_t		 old[256];
	enum tick_err	 err;
	const char	*why;

	CHECK(env_open(&e, base, "record", MAP_SIZE) == 0);
	CHECK(account_hash_parse("$scrypt$ln=10,r=4,p=2$" SALT "$" HASH,
	    &auth, &why) == 0);
	CHECK(account_import(&e.txn, "bob", &auth, 1000, &err) == STORE_OK &&
	    err == TE_OK);
	CHECK(store_user_get(&e.txn, "bob", &u) == STORE_OK);
	CHECK(u.kdf == KDF_SCRYPT && u.kdf_ln == 10 && u.kdf_r == 4 &&
	    u.kdf_p == 2 && memcmp(u.hash, auth.hash, sizeof u.hash) == 0);
	CHECK(account_import(&e.txn, "bob", &auth, 1000, &err) == STORE_OK &&
	    err == TE_NAME_TAKEN);

	CHECK(account_register(&e.txn, "carol", auth.salt, auth.hash, 1000,
	    &err) == STORE_OK && err == TE_OK);
	CHECK(store_user_get(&e.txn, "carol", &u) == STORE_OK);
	CHECK(u.kdf_ln == KDF_SCRYPT_LN && u.kdf_r == KDF_SCRYPT_R &&
	    u.kdf_p == KDF_SCRYPT_P);

	CHECK(nkey_make(&k, "bob", NAME_USER_MAX, NULL, 0) == 0);
	CHECK(db_get(&e.txn, DB_USERS, k.b, k.len, &v) == STORE_OK);
	CHECK(v.mv_size > 4 && v.mv_size <= sizeof old);
	memcpy(old, v.mv_data, v.mv_size);
	CHECK(db_put(&e.txn, DB_USERS, k.b, k.len, old, v.mv_size - 4, 0) ==
	    STORE_OK);
	CHECK(store_user_get(&e.txn, "bob", &u) == STORE_OK);
	CHECK(u.kdf == KDF_SCRYPT && u.kdf_ln == KDF_SCRYPT_LN &&
	    u.kdf_r == KDF_SCRYPT_R && u.kdf_p == KDF_SCRYPT_P);
	CHECK(memcmp(u.hash, auth.hash, sizeof u.hash) == 0);
	/* Neither old nor whole: corrupt. */
	CHECK(db_put(&e.txn, DB_USERS, k.b, k.len, old, v.mv_size - 2, 0) ==
	    STORE_OK);
	CHECK(store_user_get(&e.txn, "bob", &u) != STORE_OK);
	store_txn_abort(&e.txn);
	store_close(e.s);
	return (0);
}

static const struct test tests[] = {
	{ "account_hash_parse: the PHC string of scrypt", test_parse },
	{ "the KDF is stored; an old record reads as the old cost",
	    test_record },
};

/* Runs every test, prints TAP, and removes the temporary tree. */
int
main(void)
{
	return (tap_run_tmpdir(tests, nitems(tests), "test_kdf", base,
	    sizeof base));
}
