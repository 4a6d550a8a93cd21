/* SPDX-License-Identifier: ISC */
/*
 * slowsync.c: an LD_PRELOAD library for bench/sync-ab.sh that makes a disk
 * slower: each fdatasync(2), and each pwrite(2) through a descriptor opened
 * O_DSYNC (LMDB's meta page), takes $SLOW_US microseconds more (default
 * 1000).  Build: cc -shared -fPIC -o slowsync.so bench/slowsync.c -ldl
 */
#define _GNU_SOURCE
#include <sys/types.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAXFD	4096

static int	dsync[MAXFD];

static void
nap(void)
{
	const char	*us = getenv("SLOW_US");
	struct timespec	 ts;
	long		 n = us != NULL ? atol(us) : 1000;

	ts.tv_sec = n / 1000000;
	ts.tv_nsec = (n % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

int
fdatasync(int fd)
{
	static int	(*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	nap();
	return (real(fd));
}

int
open(const char *path, int flags, ...)
{
	static int	(*real)(const char *, int, ...);
	va_list		 ap;
	mode_t		 mode;
	int		 fd;

	if (real == NULL)
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT,
		    "open");
	va_start(ap, flags);
	mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	fd = real(path, flags, mode);
	if (fd >= 0 && fd < MAXFD)
		dsync[fd] = (flags & O_DSYNC) != 0;
	return (fd);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t	(*real)(int, const void *, size_t, off_t);
	ssize_t		 n;

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(
		    RTLD_NEXT, "pwrite");
	n = real(fd, buf, len, off);
	if (fd >= 0 && fd < MAXFD && dsync[fd])
		nap();
	return (n);
}
