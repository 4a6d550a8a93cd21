/* SPDX-License-Identifier: ISC */
/*
 * log.c: logging, after OpenSMTPD's log.c.  In the foreground messages go
 * to stderr, each line with its severity: after a UTC timestamp, or as a
 * "<N>" syslog priority prefix when stderr is the systemd journal, which
 * keeps the time itself (tickd(8) LOGS).  Otherwise they go to syslog as
 * "tickd", LOG_DAEMON.  log_warn and fatal append strerror(errno); fatal
 * and fatalx exit 1.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tickd.h"

static int	log_foreground = 1;	/* stderr until log_init says not */
static int	log_journal;		/* stderr is the journal's stream */
static int	log_level = L_INFO;

/* The name of each syslog priority used, as written on stderr. */
static const char *const log_pri_names[] = {
	[LOG_CRIT] = "crit",
	[LOG_ERR] = "error",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

static void	log_vlog(int, int, const char *, va_list) printflike(3, 0);
static void	log_msg(int, int, const char *, ...) printflike(3, 4);
static void	log_errno(int, int, int, const char *, va_list)
		    printflike(4, 0);
static __dead void log_fatal(int, const char *, va_list) printflike(2, 0);

/*
 * Whether stderr is the journal: systemd sets $JOURNAL_STREAM to the
 * "device:inode" of the stream it connects to stderr, and a redirection
 * since (tickd -f 2>file) no longer matches.
 */
static int
log_stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;
	char			 end;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return (0);
	return ((unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino);
}

/* Chooses stderr or syslog and the most verbose level to log. */
void
log_init(int foreground, int level)
{
	log_foreground = foreground;
	log_journal = foreground && log_stderr_is_journal();
	log_setlevel(level);
	tzset();
	if (!log_foreground)
		openlog("tickd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Sets the most verbose level that is logged. */
void
log_setlevel(int level)
{
	if (level < L_ERROR)
		level = L_ERROR;
	if (level > L_DEBUG)
		level = L_DEBUG;
	log_level = level;
}

/* Returns the most verbose level that is logged. */
int
log_getlevel(void)
{
	return (log_level);
}

/* Closes and reopens syslog, as after SIGHUP. */
void
log_reopen(void)
{
	if (log_foreground)
		return;
	closelog();
	openlog("tickd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Writes one message at a level with a syslog priority, if not filtered. */
static void
log_vlog(int level, int pri, const char *fmt, va_list ap)
{
	char		 msg[1024], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 saved_errno = errno;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", pri, msg);
		fflush(stderr);
	} else if (log_foreground) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s %s\n", stamp,
		    ts.tv_nsec / 1000000, log_pri_names[pri], msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
	errno = saved_errno;
}

/* Logs a formatted message at a level with a syslog priority. */
static void
log_msg(int level, int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(level, pri, fmt, ap);
	va_end(ap);
}

/* Formats a message, appends strerror(e) unless e is 0, and logs it. */
static void
log_errno(int level, int pri, int e, const char *fmt, va_list ap)
{
	char	msg[1024];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (e != 0)
		log_msg(level, pri, "%s: %s", msg, strerror(e));
	else
		log_msg(level, pri, "%s", msg);
}

/* Logs a warning followed by strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_errno(L_WARN, LOG_WARNING, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* Logs a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(L_WARN, LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Logs an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(L_INFO, LOG_INFO, fmt, ap);
	va_end(ap);
}

/* Logs a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(L_DEBUG, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Logs "fatal: " and the message, with strerror(e) unless 0, and exits 1. */
static __dead void
log_fatal(int e, const char *fmt, va_list ap)
{
	char	msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (e != 0)
		log_msg(L_ERROR, LOG_CRIT, "fatal: %s: %s", msg, strerror(e));
	else
		log_msg(L_ERROR, LOG_CRIT, "fatal: %s", msg);
	exit(1);
}

/* Logs a fatal error followed by strerror(errno) and exits 1. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_fatal(saved_errno, fmt, ap);
	va_end(ap);
}

/* Logs a fatal error and exits 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_fatal(0, fmt, ap);
	va_end(ap);
}
