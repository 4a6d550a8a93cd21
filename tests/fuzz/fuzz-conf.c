/* SPDX-License-Identifier: ISC */
/*
 * fuzz-conf.c: the configuration parser, conf_load(), on the input as a
 * file (a memfd, opened by its /proc/self/fd path as any file would be).  A
 * configuration it accepts must hold what the table promises, and reloading
 * it over the defaults must work; a broken promise aborts.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	fd = -1;
static char	path[64];

/* Once, before the first input. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	log_init(1, L_ERROR);
	if ((fd = memfd_create("fuzz-conf", MFD_CLOEXEC)) == -1)
		fatal("memfd_create");
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return (0);
}

/* Whether every number in c lies within its entry's bounds. */
static int
conf_in_bounds(const struct conf *c)
{
	const struct conf_entry	*e;
	uint64_t		 n;

	for (e = conf_table; e->name != NULL; e++) {
		if (e->type != CONF_DURATION && e->type != CONF_SIZE &&
		    e->type != CONF_COUNT)
			continue;
		memcpy(&n, (const char *)c + e->offset, sizeof n);
		if (n < e->min || (e->max != 0 && n > e->max))
			return (0);
	}
	return (1);
}

/* One input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct conf	 c, running;
	json_t		*report;
	char		*cause = NULL;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, len, 0) != (ssize_t)len)
		fatal("memfd");
	conf_init(&c);
	if (conf_load(&c, path, &cause) == 0) {
		if (cause != NULL || c.path == NULL || c.listen == NULL ||
		    c.data_dir == NULL || !conf_in_bounds(&c) ||
		    c.max_frame_bytes < c.max_message_bytes)
			abort();
		conf_init(&running);
		report = json_pack("{s:[],s:[]}", "changed", "restart");
		conf_apply_reload(&running, &c, report);
		json_decref(report);
		conf_clear(&running);
	} else if (cause == NULL)
		abort();
	free(cause);
	conf_clear(&c);
	return (0);
}
