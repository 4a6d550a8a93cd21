/* SPDX-License-Identifier: ISC */
/*
 * powercut.c: an LD_PRELOAD library for 14-powercut.py.  It appends to the
 * file named by $TICKD_POWERCUT_LOG a record of everything that reaches
 * the store's files (the files named *.mdb directly in the directory
 * $TICKD_POWERCUT_DIR, as the path given to open names it, and that
 * directory itself, named "."): each open, with whether the descriptor is
 * O_DSYNC; each write through pwrite, pwritev, write and writev (offset,
 * length and the bytes written); each ftruncate; each fdatasync, fsync
 * and msync; each rename of one store file to another's name and each
 * unlink of one; and each writable shared
 * mapping, through which writes cannot be seen (the test refuses a log
 * that has one).  From it the test rebuilds the files as a power cut at
 * any point could have left them.
 *
 * With $TICKD_POWERCUT_NOSYNC set, fdatasync and fsync of those files
 * return 0 without syncing and without a record: a build that skips its
 * syncs, which the test must catch.
 *
 * Each record is one writev(2) to the O_APPEND log, made under a lock
 * after the call it records has returned, with the CLOCK_MONOTONIC time
 * read under that lock: the log is in the order the calls completed, and
 * its times increase.  A sync's record has, as its offset, the number of
 * records in the log when the sync began: only the writes among those
 * are sure to be on disk when it returns, whatever other threads did
 * meanwhile.  A record (native byte order) is type (1 byte: O, W,
 * T, S, M, R or U), file (1 byte: the index of the file in the order of
 * first mentions), flags (2 bytes: 1 for a write through an O_DSYNC
 * descriptor), 4 bytes of padding, time in ns (8), offset (8) and length
 * (8), then length bytes: the data of a W, the file name of an O or a U,
 * the new name of an R.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXFD		4096
#define MAXFILES	64
#define MAXMAPS		64
#define MAXIOV		64

struct rec {
	uint8_t		type;
	uint8_t		file;
	uint16_t	flags;
	uint32_t	pad;
	uint64_t	ns;
	uint64_t	off;
	uint64_t	len;
};

struct map {
	char		*addr;
	size_t		 len;
	int		 file;	/* index + 1, 0 for a free slot */
};

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static int		 logfd = -1;
static const char	*dir;
static int		 nfiles;
static char		 files[MAXFILES][NAME_MAX + 1];
static int		 fdfile[MAXFD];	/* file index + 1, 0 untracked */
static int		 fddsync[MAXFD];
static struct map	 maps[MAXMAPS];
static int		 state;		/* of setup: 0, 1 under way, 2 done */
static uint64_t		 nrec;		/* records in the log */

static int	(*real_open)(const char *, int, ...);
static int	(*real_openat)(int, const char *, int, ...);
static int	(*real_close)(int);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_pwritev)(int, const struct iovec *, int, off_t);
static int	(*real_ftruncate)(int, off_t);
static int	(*real_fdatasync)(int);
static int	(*real_fsync)(int);
static int	(*real_msync)(void *, size_t, int);
static void	*(*real_mmap)(void *, size_t, int, int, int, off_t);
static int	(*real_rename)(const char *, const char *);
static int	(*real_unlink)(const char *);

/* The next definition of name; without it the process cannot go on. */
static void *
next(const char *name)
{
	void	*p;

	if ((p = dlsym(RTLD_NEXT, name)) == NULL)
		abort();
	return (p);
}

/*
 * Finds the real functions and opens the log, on the first call of any
 * function here: not in a constructor, which may run before a sanitizer's
 * runtime is ready for the calls it makes.
 */
static void
setup(void)
{
	const char	*path;
	int		 expect = 0;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2)
		return;
	if (!__atomic_compare_exchange_n(&state, &expect, 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
			;
		return;
	}
	real_open = next("open");
	real_openat = next("openat");
	real_close = next("close");
	real_write = next("write");
	real_pwrite = next("pwrite");
	real_writev = next("writev");
	real_pwritev = next("pwritev");
	real_ftruncate = next("ftruncate");
	real_fdatasync = next("fdatasync");
	real_fsync = next("fsync");
	real_msync = next("msync");
	real_mmap = next("mmap");
	real_rename = next("rename");
	real_unlink = next("unlink");
	dir = getenv("TICKD_POWERCUT_DIR");
	if ((path = getenv("TICKD_POWERCUT_LOG")) != NULL &&
	    (logfd = real_open(path, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600)) == -1)
		abort();
	__atomic_store_n(&state, 2, __ATOMIC_RELEASE);
}

/* Appends one record with its payload, in one writev. */
static void
emit(int type, int file, int flags, uint64_t off, const struct iovec *data,
    int ndata)
{
	struct iovec	 iov[1 + MAXIOV];
	struct rec	 r;
	struct timespec	 ts;
	int		 i;

	if (logfd == -1 || ndata > MAXIOV)
		abort();
	memset(&r, 0, sizeof r);
	r.type = type;
	r.file = file;
	r.flags = flags;
	r.off = off;
	for (i = 0; i < ndata; i++) {
		r.len += data[i].iov_len;
		iov[1 + i] = data[i];
	}
	iov[0].iov_base = &r;
	iov[0].iov_len = sizeof r;
	pthread_mutex_lock(&lock);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r.ns = (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (real_writev(logfd, iov, 1 + ndata) == -1)
		abort();
	__atomic_store_n(&nrec, nrec + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
}

/* The index of a store file, when path names one, else -1. */
static int
store_file(const char *path)
{
	const char	*name;
	size_t		 n, len;
	int		 i;

	if (dir == NULL || logfd == -1)
		return (-1);
	n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return (-1);
	name = path[n] == '\0' ? "." : path + n + 1;
	len = strlen(name);
	if (strcmp(name, ".") != 0 && (strchr(name, '/') != NULL || len < 5 ||
	    len > NAME_MAX || strcmp(name + len - 4, ".mdb") != 0))
		return (-1);
	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], name) == 0)
			return (i);
	if (nfiles == MAXFILES)
		abort();
	strcpy(files[nfiles], name);
	return (nfiles++);
}

/* Notes a new descriptor of a store file. */
static void
opened(int fd, const char *path, int flags)
{
	struct iovec	 iov;
	int		 file;

	if (fd < 0 || fd >= MAXFD)
		return;
	fdfile[fd] = 0;
	pthread_mutex_lock(&lock);
	file = store_file(path);
	pthread_mutex_unlock(&lock);
	if (file == -1)
		return;
	fdfile[fd] = file + 1;
	fddsync[fd] = (flags & O_DSYNC) != 0;
	iov.iov_base = files[file];
	iov.iov_len = strlen(files[file]);
	emit('O', file, fddsync[fd], (uint64_t)fd, &iov, 1);
}

/* The store file index of fd, or -1. */
static int
tracked(int fd)
{
	if (fd < 0 || fd >= MAXFD)
		return (-1);
	return (fdfile[fd] - 1);
}

/* Records done bytes of a write of iov at off through fd. */
static void
wrote(int fd, const struct iovec *iov, int n, off_t off, ssize_t done)
{
	struct iovec	 v[MAXIOV];
	int		 i, file;

	if ((file = tracked(fd)) == -1 || done <= 0)
		return;
	for (i = 0; i < n && i < MAXIOV && done > 0; i++) {
		v[i] = iov[i];
		if ((ssize_t)v[i].iov_len > done)
			v[i].iov_len = done;
		done -= v[i].iov_len;
	}
	emit('W', file, fddsync[fd], (uint64_t)off, v, i);
}

/* open(2), noting store files. */
int
open(const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	int	 fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	setup();
	fd = real_open(path, flags, mode);
	opened(fd, path, flags);
	return (fd);
}

/* open64(2), the same. */
int
open64(const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	int	 fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	setup();
	fd = real_open(path, flags, mode);
	opened(fd, path, flags);
	return (fd);
}

/* openat(2), noting store files named by an absolute path. */
int
openat(int at, const char *path, int flags, ...)
{
	va_list	 ap;
	mode_t	 mode = 0;
	int	 fd;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	setup();
	fd = real_openat(at, path, flags, mode);
	opened(fd, path, flags);
	return (fd);
}

/* close(2), forgetting the descriptor. */
int
close(int fd)
{
	setup();
	if (fd >= 0 && fd < MAXFD)
		fdfile[fd] = 0;
	return (real_close(fd));
}

/* write(2) at the file offset. */
ssize_t
write(int fd, const void *buf, size_t len)
{
	struct iovec	 iov;
	off_t		 off = 0;
	ssize_t		 n;

	setup();
	if (tracked(fd) != -1)
		off = lseek(fd, 0, SEEK_CUR);
	n = real_write(fd, buf, len);
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	wrote(fd, &iov, 1, off, n);
	return (n);
}

/* pwrite(2). */
ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec	 iov;
	ssize_t		 n;

	setup();
	n = real_pwrite(fd, buf, len, off);
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	wrote(fd, &iov, 1, off, n);
	return (n);
}

/* pwrite64(2), the same on LP64. */
ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return (pwrite(fd, buf, len, off));
}

/* writev(2) at the file offset. */
ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	off_t	 off = 0;
	ssize_t	 n;

	setup();
	if (tracked(fd) != -1)
		off = lseek(fd, 0, SEEK_CUR);
	n = real_writev(fd, iov, cnt);
	wrote(fd, iov, cnt, off, n);
	return (n);
}

/* pwritev(2). */
ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t	 n;

	setup();
	n = real_pwritev(fd, iov, cnt, off);
	wrote(fd, iov, cnt, off, n);
	return (n);
}

/* pwritev64(2), the same on LP64. */
ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return (pwritev(fd, iov, cnt, off));
}

/* ftruncate(2). */
int
ftruncate(int fd, off_t len)
{
	int	 rc, file;

	setup();
	rc = real_ftruncate(fd, len);
	if (rc == 0 && (file = tracked(fd)) != -1)
		emit('T', file, 0, (uint64_t)len, NULL, 0);
	return (rc);
}

/* rename(2), noting a store file that takes another's name. */
int
rename(const char *from, const char *to)
{
	struct iovec	 iov;
	int		 rc, file, dest;

	setup();
	if ((rc = real_rename(from, to)) != 0)
		return (rc);
	pthread_mutex_lock(&lock);
	file = store_file(from);
	dest = store_file(to);
	pthread_mutex_unlock(&lock);
	if (file != -1 && dest != -1) {
		iov.iov_base = files[dest];
		iov.iov_len = strlen(files[dest]);
		emit('R', file, 0, 0, &iov, 1);
	} else if (file != -1 || dest != -1)
		abort();
	return (rc);
}

/* unlink(2), noting a store file removed. */
int
unlink(const char *path)
{
	struct iovec	 iov;
	int		 rc, file;

	setup();
	if ((rc = real_unlink(path)) != 0)
		return (rc);
	pthread_mutex_lock(&lock);
	file = store_file(path);
	pthread_mutex_unlock(&lock);
	if (file != -1) {
		iov.iov_base = files[file];
		iov.iov_len = strlen(files[file]);
		emit('U', file, 0, 0, &iov, 1);
	}
	return (rc);
}

/* A sync of fd by real(), skipped under $TICKD_POWERCUT_NOSYNC. */
static int
synced(int fd, int (*real)(int))
{
	uint64_t	 start;
	int		 rc, file;

	if ((file = tracked(fd)) == -1)
		return (real(fd));
	if (getenv("TICKD_POWERCUT_NOSYNC") != NULL)
		return (0);
	start = __atomic_load_n(&nrec, __ATOMIC_ACQUIRE);
	if ((rc = real(fd)) == 0)
		emit('S', file, 0, start, NULL, 0);
	return (rc);
}

/* fdatasync(2). */
int
fdatasync(int fd)
{
	setup();
	return (synced(fd, real_fdatasync));
}

/* fsync(2). */
int
fsync(int fd)
{
	setup();
	return (synced(fd, real_fsync));
}

/*
 * mmap(2), noting shared mappings of store files.  Before setup, which no
 * open has called yet, there is no store file: the system call itself,
 * as setup's own allocations may come here.
 */
void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void	*p;
	int	 i, file;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return ((void *)syscall(SYS_mmap, addr, len, prot, flags, fd,
		    off));
	p = real_mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED || (file = tracked(fd)) == -1 ||
	    !(flags & MAP_SHARED))
		return (p);
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAXMAPS && maps[i].file != 0; i++)
		;
	if (i < MAXMAPS) {
		maps[i].addr = p;
		maps[i].len = len;
		maps[i].file = file + 1;
	}
	pthread_mutex_unlock(&lock);
	if (prot & PROT_WRITE)
		emit('M', file, 0, (uint64_t)off, NULL, 0);
	return (p);
}

/* mmap64(2), the same on LP64. */
void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (mmap(addr, len, prot, flags, fd, off));
}

/* msync(2): a sync of the store file mapped there, if any. */
int
msync(void *addr, size_t len, int flags)
{
	char		*a = addr;
	uint64_t	 start;
	int		 i, rc, file = -1;

	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2)
		return ((int)syscall(SYS_msync, addr, len, flags));
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAXMAPS; i++)
		if (maps[i].file != 0 && a >= maps[i].addr &&
		    a < maps[i].addr + maps[i].len)
			file = maps[i].file - 1;
	pthread_mutex_unlock(&lock);
	start = __atomic_load_n(&nrec, __ATOMIC_ACQUIRE);
	rc = real_msync(addr, len, flags);
	if (rc == 0 && file != -1 && (flags & MS_SYNC))
		emit('S', file, 2, start, NULL, 0);
	return (rc);
}
