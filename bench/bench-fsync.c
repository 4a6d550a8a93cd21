/* SPDX-License-Identifier: ISC */
/*
 * bench-fsync.c: how many durable commits per second the data disk can
 * take, the ceiling of any store that fsyncs before it answers.  Each
 * commit rewrites pages 4 KiB pages in place, scattered over the file as
 * the pages of a B-tree are, then fdatasyncs, as an LMDB commit rewrites
 * the pages of a file that no longer grows (LMDB then also writes its meta
 * page with O_DSYNC).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define FSYNC_PAGE	4096
#define FSYNC_PAGES	4096		/* 16 MiB of file */

/*
 * Measures commits of pages pages each for about seconds, in a temporary
 * file under dir.
 */
int
fsync_measure(const char *dir, double seconds, unsigned pages,
    struct fsync_res *res, char **cause)
{
	char		 path[4096], page[FSYNC_PAGE];
	uint64_t	 t0, t1, start, n = 0, off;
	unsigned	 i;
	int		 fd;

	memset(res, 0, sizeof *res);
	memset(page, 'x', sizeof page);
	snprintf(path, sizeof path, "%s/tickd-bench-fsync.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return (-1);
	}
	/* Allocate the file first, so that no sync also grows it. */
	for (i = 0; i < FSYNC_PAGES; i++) {
		if (write(fd, page, sizeof page) != (ssize_t)sizeof page)
			goto bad;
	}
	if (fsync(fd) != 0)
		goto bad;
	start = now_ns();
	do {
		page[n % sizeof page] ^= 1;
		t0 = now_ns();
		for (i = 0; i < pages; i++) {
			/* A stride that is prime to the file's page count. */
			off = (n * pages + i) * 2654435761ULL % FSYNC_PAGES;
			if (pwrite(fd, page, sizeof page, (off_t)off *
			    FSYNC_PAGE) != (ssize_t)sizeof page)
				goto bad;
		}
		if (fdatasync(fd) != 0)
			goto bad;
		t1 = now_ns();
		hist_add(&res->lat, t1 - t0);
		n++;
	} while ((double)(t1 - start) < seconds * 1e9);
	res->per_s = (double)n / ((double)(t1 - start) / 1e9);
	close(fd);
	unlink(path);
	return (0);
bad:
	if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
		*cause = NULL;
	close(fd);
	unlink(path);
	return (-1);
}
