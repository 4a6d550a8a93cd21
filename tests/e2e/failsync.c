/* SPDX-License-Identifier: ISC */
/*
 * failsync.c: an LD_PRELOAD library for 18-commit-fail.py.  While the file
 * named by $TICKD_FAILSYNC exists, fdatasync() and fsync() fail with EIO,
 * as on a disk going bad, so that LMDB's commit fails after its pages are
 * written and before they are durable; otherwise they are the real ones.
 * With $TICKD_FAILSYNC_THREAD set, only the calls of threads other than
 * the main one fail: the sync of the meta page by tickd's sync thread
 * (tickd(8) COMMITS), after the commit's own sync succeeded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int
failing(void)
{
	const char	*path = getenv("TICKD_FAILSYNC");

	if (getenv("TICKD_FAILSYNC_THREAD") != NULL && gettid() == getpid())
		return (0);
	return (path != NULL && access(path, F_OK) == 0);
}

int
fdatasync(int fd)
{
	static int	(*real)(int);

	if (failing()) {
		errno = EIO;
		return (-1);
	}
	if (real == NULL &&
	    (real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync")) == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	return (real(fd));
}

int
fsync(int fd)
{
	static int	(*real)(int);

	if (failing()) {
		errno = EIO;
		return (-1);
	}
	if (real == NULL &&
	    (real = (int (*)(int))dlsym(RTLD_NEXT, "fsync")) == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	return (real(fd));
}
