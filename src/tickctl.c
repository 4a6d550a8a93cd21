/* SPDX-License-Identifier: ISC */
/*
 * tickctl.c: tickd's control program, after OpenSMTPD's smtpctl.  Most
 * commands are sent to the running daemon over its control socket
 * (tickd-control.h); backup, verify and dump open the store themselves,
 * read-only, so they work on a stopped data_dir (-d) as well as next to a
 * running daemon.  Commands are patterns whose words may be shortened to
 * any unambiguous prefix; -j prints results as JSON for scripts.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tickd.h"
#include "tickd-control.h"

#define TIMEOUT_SECONDS	60	/* for the daemon's answer */
#define WORDS_MAX	8

#define F_DAEMON	0x01	/* sent to the daemon */
#define F_STORE		0x02	/* run here on the store */
#define F_PASSWORD	0x04	/* asks for a password */
#define F_IMPORT	0x08	/* a request for each line of a file */
#define F_PRECHECK	0x10	/* verify here first, the daemon if need be */

struct opts {
	const char	*conf;
	const char	*socket;
	const char	*dir;
	char		*media_dir;	/* for verify and backup --media */
	int		 json;
	int		 stdin_pw;
};

/* A command: its pattern, where it runs and how its result is shown. */
struct cmd {
	const char	*pattern;	/* words; <name> is an argument */
	int		 flags;
	void		(*show)(json_t *);
	int		(*local)(const struct opts *, struct store *, char **,
			    json_t **);
};

/* What the copy thread of a backup works with. */
struct copy {
	struct store	*store;
	int		 fd;		/* write end of the pipe */
	int		 ret;
	char		*cause;		/* why it failed */
};

static void	show_user_add(json_t *);
static void	show_user_del(json_t *);
static void	show_user_passwd(json_t *);
static void	show_user_list(json_t *);
static void	show_user_import(json_t *);
static void	show_user_show(json_t *);
static void	show_device_list(json_t *);
static void	show_device_del(json_t *);
static void	show_queue_show(json_t *);
static void	show_queue_purge(json_t *);
static void	show_block_list(json_t *);
static void	show_token_revoke(json_t *);
static void	show_stats(json_t *);
static void	show_log_level(json_t *);
static void	show_reload(json_t *);
static void	show_verify(json_t *);
static void	show_group_list(json_t *);
static void	show_group_show(json_t *);
static void	show_group_del(json_t *);
static void	show_backup(json_t *);
static void	show_audit(json_t *);
static void	show_media_list(json_t *);
static void	show_media_show(json_t *);
static void	show_media_del(json_t *);
static void	show_push_show(json_t *);
static void	show_push_del(json_t *);
static int	run_backup_media(const struct opts *, struct store *,
		    char **, json_t **);
static int	run_backup(const struct opts *, struct store *, char **,
		    json_t **);
static int	run_verify(const struct opts *, struct store *, char **,
		    json_t **);
static int	run_dump(const struct opts *, struct store *, char **,
		    json_t **);
static int	run_import(const struct cmd *, const char *, const char *);
static json_t	*precheck(const struct opts *);
static __dead void die(const char *, ...) printflike(1, 2);

static const struct cmd cmds[] = {
	{ "user add <user>",	F_DAEMON | F_PASSWORD,	show_user_add, NULL },
	{ "user del <user>",	F_DAEMON,	show_user_del, NULL },
	{ "user passwd <user>",	F_DAEMON | F_PASSWORD,	show_user_passwd,
	  NULL },
	{ "user list",		F_DAEMON,	show_user_list, NULL },
	{ "user import <file>",	F_DAEMON | F_IMPORT, show_user_import, NULL },
	{ "user show <user>",	F_DAEMON,	show_user_show, NULL },
	{ "device list <user>",	F_DAEMON,	show_device_list, NULL },
	{ "device del <user> <device>", F_DAEMON, show_device_del, NULL },
	{ "queue show <user[:device]>", F_DAEMON, show_queue_show, NULL },
	{ "queue purge <user[:device]>", F_DAEMON, show_queue_purge, NULL },
	{ "block list <user>",	F_DAEMON,	show_block_list, NULL },
	{ "token revoke <user[:device]>", F_DAEMON, show_token_revoke, NULL },
	{ "stats",		F_DAEMON,	show_stats, NULL },
	{ "log level <level>",	F_DAEMON,	show_log_level, NULL },
	{ "reload",		F_DAEMON,	show_reload, NULL },
	{ "repair",		F_DAEMON | F_PRECHECK, show_verify, NULL },
	{ "backup <file>",	F_STORE,	show_backup, run_backup },
	{ "verify",		F_STORE,	show_verify, run_verify },
	{ "dump <user>",	F_STORE,	NULL, run_dump },
	{ "audit",		F_DAEMON,	show_audit, NULL },
	{ "group list",		F_DAEMON,	show_group_list, NULL },
	{ "group show <group>",	F_DAEMON,	show_group_show, NULL },
	{ "group del <group>",	F_DAEMON,	show_group_del, NULL },
	{ "media list <user>",	F_DAEMON,	show_media_list, NULL },
	{ "media show <id>",	F_DAEMON,	show_media_show, NULL },
	{ "media del <id>",	F_DAEMON,	show_media_del, NULL },
	{ "push show <user[:device]>", F_DAEMON, show_push_show, NULL },
	{ "push del <user:device>", F_DAEMON, show_push_del, NULL },
	{ "cluster status",	F_DAEMON,	tickctl_show_cluster_status, NULL },
	{ "cluster nodes",	F_DAEMON,	tickctl_show_cluster_nodes, NULL },
	{ "cluster outbox",	F_DAEMON,	tickctl_show_cluster_outbox, NULL },
	{ "cluster forget <node>", F_DAEMON, tickctl_show_cluster_forget,
	    NULL },
	{ "cluster claim <user>", F_DAEMON, tickctl_show_cluster_claim,
	    NULL },
	{ "backup <file> --media <dir>", F_STORE, show_backup,
	    run_backup_media },
};

static struct termios	 tty_saved;
static int		 tty_fd = -1;
static int		 json_out;

/* Prints one line to stderr and exits 1. */
static __dead void
die(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fprintf(stderr, "tickctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* Prints the synopsis and every command, and exits 1. */
static __dead void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: tickctl [-j] [-c config] [-s socket] "
	    "[-d dir] command [argument ...]\ncommands:\n");
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(stderr, "\t%s%s\n", cmds[i].pattern,
		    cmds[i].flags & F_PASSWORD ? " [--stdin]" : "");
	fprintf(stderr, "\tversion\n");
	exit(1);
}

/* Appends s to the string in buf, truncating to fit len bytes. */
static void
append(char *buf, const char *s, size_t len)
{
	size_t	used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s", s);
}

/* Splits a pattern into words (in buf). */
static int
pattern_words(const char *pattern, char *buf, size_t len, char **w)
{
	char	*p;
	int	 n = 0;

	strlcpy(buf, pattern, len);
	for (p = strtok(buf, " "); p != NULL && n < WORDS_MAX;
	    p = strtok(NULL, " "))
		w[n++] = p;
	return (n);
}

/*
 * Whether argv matches a pattern: each keyword may be given as any prefix
 * of it, each <argument> takes one word.  exact says no keyword was
 * shortened; prefix says argv is a shortened start of the pattern.
 */
static int
pattern_match(const char *pattern, int argc, char **argv, int *exact,
    int *prefix)
{
	char	 buf[128], *w[WORDS_MAX];
	int	 n, i;

	n = pattern_words(pattern, buf, sizeof buf, w);
	*exact = 1;
	*prefix = 0;
	for (i = 0; i < n && i < argc; i++) {
		if (w[i][0] == '<')
			continue;
		if (argv[i][0] == '\0' ||
		    strncmp(w[i], argv[i], strlen(argv[i])) != 0)
			return (0);
		if (strcmp(w[i], argv[i]) != 0)
			*exact = 0;
	}
	if (argc < n) {
		*prefix = 1;
		return (0);
	}
	return (argc == n);
}

/* The command argv names; dies with the reason if none or several do. */
static const struct cmd *
cmd_find(int argc, char **argv)
{
	const struct cmd	*found = NULL, *exact_found = NULL;
	int			 n = 0, nexact = 0, exact, prefix, i;
	size_t			 k;
	char			 list[1024];

	list[0] = '\0';
	for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
		if (!pattern_match(cmds[k].pattern, argc, argv, &exact,
		    &prefix))
			continue;
		found = &cmds[k];
		n++;
		if (exact) {
			exact_found = &cmds[k];
			nexact++;
		}
		append(list, "\n\t", sizeof list);
		append(list, cmds[k].pattern, sizeof list);
	}
	if (n == 1)
		return (found);
	if (nexact == 1)
		return (exact_found);
	if (n > 1)
		die("ambiguous command; it could be:%s", list);
	for (k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
		if (!pattern_match(cmds[k].pattern, argc, argv, &exact,
		    &prefix) && prefix) {
			append(list, "\n\t", sizeof list);
			append(list, cmds[k].pattern, sizeof list);
		}
	}
	if (list[0] != '\0')
		die("incomplete command; usage:%s", list);
	fprintf(stderr, "tickctl: unknown command:");
	for (i = 0; i < argc; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, "\n");
	usage();
}

/* The command's name on the wire: its keywords, without arguments. */
static void
cmd_name(const struct cmd *cmd, char *out, size_t len)
{
	char	 buf[128], *w[WORDS_MAX];
	int	 n, i;

	n = pattern_words(cmd->pattern, buf, sizeof buf, w);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (w[i][0] == '<')
			continue;
		if (out[0] != '\0')
			append(out, " ", len);
		append(out, w[i], len);
	}
}

/* Restores the terminal's echo, also when a signal interrupts a prompt. */
static void
tty_restore(void)
{
	if (tty_fd != -1)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
}

/* A signal during a prompt: restore the echo, then die of it. */
static void
tty_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from fd into buf; -1 at EOF or error. */
static int
read_line(int fd, char *buf, size_t len)
{
	size_t	n = 0;
	ssize_t	r;
	char	c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return (n > 0 ? 0 : -1);
		if (c == '\n')
			break;
		if (n + 1 >= len)
			return (-2);
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (0);
}

/* Prompts on the terminal with echo off; the caller clears buf. */
static void
tty_prompt(const char *prompt, char *buf, size_t len)
{
	struct termios	t;
	int		r;

	if (write(tty_fd, prompt, strlen(prompt)) == -1)
		die("/dev/tty: %s", strerror(errno));
	if (tcgetattr(tty_fd, &tty_saved) == -1)
		die("/dev/tty: %s", strerror(errno));
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	signal(SIGINT, tty_signal);
	signal(SIGTERM, tty_signal);
	signal(SIGHUP, tty_signal);
	if (tcsetattr(tty_fd, TCSAFLUSH, &t) == -1)
		die("/dev/tty: %s", strerror(errno));
	r = read_line(tty_fd, buf, len);
	tty_restore();
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (r == -2)
		die("the password is longer than %d bytes",
		    CONTROL_PASSWORD_MAX);
	if (r != 0)
		die("no password given");
}

/*
 * The new password of user: one line of standard input with --stdin,
 * else typed twice on the terminal without echo.
 */
static char *
password_read(const char *user, int from_stdin)
{
	char	 a[CONTROL_PASSWORD_MAX + 2], b[CONTROL_PASSWORD_MAX + 2];
	char	*prompt;
	int	 r;

	if (from_stdin) {
		if ((r = read_line(STDIN_FILENO, a, sizeof a)) == -2)
			die("the password is longer than %d bytes",
			    CONTROL_PASSWORD_MAX);
		if (r != 0)
			die("no password on standard input");
	} else {
		if ((tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1)
			die("no terminal to read the password from (%s): use "
			    "--stdin", strerror(errno));
		xasprintf(&prompt, "New password for %s: ", user);
		tty_prompt(prompt, a, sizeof a);
		free(prompt);
		tty_prompt("Retype it: ", b, sizeof b);
		close(tty_fd);
		tty_fd = -1;
		r = strcmp(a, b);
		explicit_bzero(b, sizeof b);
		if (r != 0) {
			explicit_bzero(a, sizeof a);
			die("the passwords do not match; nothing changed");
		}
	}
	if (a[0] == '\0')
		die("the password is empty; nothing changed");
	if (strlen(a) > CONTROL_PASSWORD_MAX)
		die("the password is longer than %d bytes",
		    CONTROL_PASSWORD_MAX);
	prompt = xstrdup(a);
	explicit_bzero(a, sizeof a);
	return (prompt);
}

/* Writes all of buf to fd. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Sends one request to the daemon and returns its parsed answer. */
static json_t *
daemon_request(const char *path, const char *name, json_t *args)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { TIMEOUT_SECONDS, 0 };
	json_t			*req, *res;
	json_error_t		 jerr;
	char			*text, *buf = NULL, *nl;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path)
		die("%s: socket path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		die("cannot connect to %s: %s%s", path, strerror(errno),
		    errno == ENOENT || errno == ECONNREFUSED ?
		    " (is tickd running?)" : errno == EACCES ?
		    " (run as root or as the daemon's user)" : "");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	req = json_pack("{s:i,s:s,s:O}", "v", CONTROL_VERSION, "cmd", name,
	    "args", args);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL)
		die("cannot encode the request");
	json_decref(req);
	n = (ssize_t)strlen(text);
	text = xrealloc(text, (size_t)n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	if (write_all(fd, text, (size_t)n + 1) == -1)
		die("%s: %s", path, strerror(errno));
	explicit_bzero(text, (size_t)n + 1);
	free(text);

	for (;;) {
		if (len + 4096 > cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die("no answer from tickd within %d seconds",
			    TIMEOUT_SECONDS);
		if (n == -1)
			die("%s: %s", path, strerror(errno));
		if (n == 0)
			die("tickd closed the connection without an answer");
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len)) != NULL)
			break;
	}
	close(fd);
	if ((res = json_loadb(buf, (size_t)(nl - buf), 0, &jerr)) == NULL)
		die("tickd sent an answer that is not JSON: %s", jerr.text);
	if (!json_is_object(res))
		die("tickd sent an answer that is not a JSON object");
	free(buf);
	return (res);
}

/*
 * Prepares a read-only open of data_dir as root: LMDB would create a
 * missing lock file owned by root, which the daemon's user could then not
 * open; it is created here owned like data_dir instead.
 */
static void
lock_file_prepare(const char *dir)
{
	struct stat	 st;
	char		*path;
	int		 fd;

	if (geteuid() != 0 || stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid == 0)
		return;
	xasprintf(&path, "%s/lock.mdb", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd != -1) {
		if (fchown(fd, st.st_uid, st.st_gid) == -1)
			die("chown %s: %s", path, strerror(errno));
		close(fd);
	} else if (errno != EEXIST)
		die("%s: %s", path, strerror(errno));
	free(path);
}

/* Formats Unix ms as UTC, or "-" for null. */
static const char *
fmt_time(json_t *v, char *buf, size_t len)
{
	time_t		t;
	struct tm	tm;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return ("-");
	t = (time_t)(json_integer_value(v) / 1000);
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return (buf);
}

/* Formats an age in seconds as "3d4h", "5m12s" or "42s". */
static const char *
fmt_age(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%llud%lluh",
		    (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
	return (buf);
}

/* The age of a Unix ms time now, or "-" for null. */
static const char *
fmt_since(json_t *v, char *buf, size_t len)
{
	uint64_t	now = now_ms(), t;

	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return ("-");
	t = (uint64_t)json_integer_value(v);
	return (fmt_age(now > t ? (now - t) / 1000 : 0, buf, len));
}

/* Formats a byte count with a binary unit. */
static const char *
fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double	v = (double)n;
	int	i = -1;

	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return (buf);
	}
	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", v, units[i]);
	return (buf);
}

/* A member as an unsigned number, 0 if it is missing. */
static uint64_t
num(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return (json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0);
}

/* A member as a string, "" if it is missing. */
static const char *
str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return (s != NULL ? s : "");
}

/* "yes", "no", or "-" when the member is missing (no daemon asked). */
static const char *
yesno(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return ("-");
	return (json_is_true(v) ? "yes" : "no");
}

/* Joins an array of strings with ", ", or "-" if it is empty. */
static void
print_names(const char *label, json_t *a)
{
	json_t	*v;
	size_t	 i;

	printf("%s", label);
	if (json_array_size(a) == 0)
		printf("-");
	json_array_foreach(a, i, v)
		printf("%s%s", i > 0 ? ", " : "", json_string_value(v));
	printf("\n");
}

/* Prints the groups as a table. */
static void
show_group_list(json_t *r)
{
	json_t	*g;
	size_t	 i;

	printf("%-22s %-16s %8s %8s  %s\n", "GROUP", "OWNER", "MEMBERS",
	    "VERSION", "TITLE");
	json_array_foreach(json_object_get(r, "groups"), i, g)
		printf("%-22s %-16s %8llu %8llu  %s\n", str(g, "group"),
		    str(g, "owner"), (unsigned long long)num(g, "members"),
		    (unsigned long long)num(g, "version"), str(g, "title"));
}

/* Prints one group with its members and roles. */
static void
show_group_show(json_t *r)
{
	json_t	*m;
	size_t	 i;

	printf("group %s \"%s\", owner %s, version %llu, %llu members%s%s\n",
	    str(r, "group"), str(r, "title"), str(r, "owner"),
	    (unsigned long long)num(r, "version"),
	    (unsigned long long)num(r, "member_count"),
	    json_is_true(json_object_get(r, "admin_only_send")) ?
	    ", admin_only_send" : "",
	    json_is_true(json_object_get(r, "admin_only_info")) ?
	    ", admin_only_info" : "");
	json_array_foreach(json_object_get(r, "members"), i, m)
		printf("  %-16s %s\n", str(m, "user"), str(m, "role"));
}

/* Prints what group del did. */
static void
show_group_del(json_t *r)
{
	printf("group %s deleted: %llu members left it\n", str(r, "group"),
	    (unsigned long long)num(r, "members"));
}

/* Prints the result of user add. */
static void
show_user_add(json_t *r)
{
	printf("user %s added\n", str(r, "user"));
}

/* Prints what user del removed. */
static void
show_user_del(json_t *r)
{
	printf("user %s deleted: %llu devices, %llu queued items, %llu "
	    "tokens, %llu blocks, %llu client ids; %llu connections "
	    "closed\n", str(r, "user"), (unsigned long long)num(r, "devices"),
	    (unsigned long long)num(r, "items"),
	    (unsigned long long)num(r, "tokens"),
	    (unsigned long long)num(r, "blocks"),
	    (unsigned long long)num(r, "client_ids"),
	    (unsigned long long)num(r, "closed"));
}

/* Prints the result of user passwd. */
static void
show_user_passwd(json_t *r)
{
	printf("password of %s changed\n", str(r, "user"));
}

/* Prints the accounts as a table. */
static void
show_user_list(json_t *r)
{
	json_t	*u;
	size_t	 i;
	char	 b1[32], b2[32];

	printf("%-24s %7s %-6s %-21s %s\n", "USER", "DEVICES", "ONLINE",
	    "LAST SEEN", "CREATED");
	json_array_foreach(json_object_get(r, "users"), i, u)
		printf("%-24s %7llu %-6s %-21s %s\n", str(u, "user"),
		    (unsigned long long)num(u, "devices"), yesno(u, "online"),
		    fmt_time(json_object_get(u, "last_seen"), b1, sizeof b1),
		    fmt_time(json_object_get(u, "created"), b2, sizeof b2));
}

/* The device table of user show, device list and queue show. */
static void
print_devices(json_t *devs)
{
	json_t	*d;
	size_t	 i;
	char	 b1[32], b2[32], b3[32];

	printf("%-16s %-6s %-7s %8s %10s %-8s %s\n", "DEVICE", "ONLINE",
	    "CLAIMED", "ITEMS", "BYTES", "OLDEST", "LAST ACTIVE");
	json_array_foreach(devs, i, d)
		printf("%-16s %-6s %-7s %8llu %10s %-8s %s\n",
		    str(d, "device"), yesno(d, "online"), yesno(d, "claimed"),
		    (unsigned long long)num(d, "items"),
		    fmt_bytes(num(d, "bytes"), b1, sizeof b1),
		    fmt_since(json_object_get(d, "oldest"), b2, sizeof b2),
		    fmt_time(json_object_get(d, "last_active"), b3,
		    sizeof b3));
}

/* Prints one account, then its devices as a table. */
static void
show_user_show(json_t *r)
{
	char	b[32];

	printf("user:            %s\n", str(r, "user"));
	printf("online:          %s\n", yesno(r, "online"));
	printf("last seen:       %s\n", fmt_time(json_object_get(r,
	    "last_seen"), b, sizeof b));
	printf("created:         %s\n", fmt_time(json_object_get(r,
	    "created"), b, sizeof b));
	printf("read receipts:   %s\n", yesno(r, "read_receipts"));
	printf("last seen shown: %s\n", str(r, "last_seen_visibility"));
	printf("tokens:          %llu\n", (unsigned long long)num(r,
	    "tokens"));
	printf("blocks:          %zu (blocked by %zu)\n",
	    json_array_size(json_object_get(r, "blocks")),
	    json_array_size(json_object_get(r, "blocked_by")));
	printf("devices:         %zu\n", json_array_size(json_object_get(r,
	    "devices")));
	print_devices(json_object_get(r, "devices"));
}

/* Prints a user's devices as a table. */
static void
show_device_list(json_t *r)
{
	print_devices(json_object_get(r, "devices"));
}

/* Prints the result of device del. */
static void
show_device_del(json_t *r)
{
	printf("device %s:%s removed with its queue; %llu connections "
	    "closed\n", str(r, "user"), str(r, "device"),
	    (unsigned long long)num(r, "closed"));
}

/* Prints the queues as a table with a total line. */
static void
show_queue_show(json_t *r)
{
	char	b1[32], b2[32];

	print_devices(json_object_get(r, "devices"));
	printf("%-31s %8llu %10s %s\n", "total",
	    (unsigned long long)num(r, "items"),
	    fmt_bytes(num(r, "bytes"), b1, sizeof b1),
	    fmt_since(json_object_get(r, "oldest"), b2, sizeof b2));
}

/* Prints what queue purge dropped. */
static void
show_queue_purge(json_t *r)
{
	char	b[32];

	printf("purged %llu items (%s) of %s%s%s\n",
	    (unsigned long long)num(r, "items"),
	    fmt_bytes(num(r, "bytes"), b, sizeof b), str(r, "user"),
	    json_object_get(r, "device") != NULL ? ":" : "",
	    str(r, "device"));
}

/* Prints whom a user blocks and who blocks it. */
static void
show_block_list(json_t *r)
{
	printf("%s blocks:    ", str(r, "user"));
	print_names("", json_object_get(r, "blocks"));
	printf("%s is blocked by: ", str(r, "user"));
	print_names("", json_object_get(r, "blocked_by"));
}

/* Prints what token revoke did. */
static void
show_token_revoke(json_t *r)
{
	printf("revoked %llu tokens of %s%s%s; %llu connections closed\n",
	    (unsigned long long)num(r, "tokens"), str(r, "user"),
	    json_object_get(r, "device") != NULL ? ":" : "",
	    str(r, "device"), (unsigned long long)num(r, "closed"));
}

/* A member as a floating-point number, 0 if it is missing. */
static double
real(json_t *o, const char *key)
{
	return (json_number_value(json_object_get(o, key)));
}

/* Prints the daemon's statistics, one per line. */
static void
show_stats(json_t *r)
{
	char		b1[32], b2[32], b3[32];
	uint64_t	used = num(r, "store_used");
	uint64_t	mapsz = num(r, "store_map_size");
	double		map = (double)mapsz;
	json_t		*pp;

	printf("version:         tickd %s\n", str(r, "version"));
	printf("uptime:          %s\n", fmt_age(num(r, "uptime"), b1,
	    sizeof b1));
	printf("connections:     %llu (%llu authenticated, %llu control)\n",
	    (unsigned long long)num(r, "connections"),
	    (unsigned long long)num(r, "authenticated"),
	    (unsigned long long)num(r, "control_connections"));
	printf("users online:    %llu\n", (unsigned long long)num(r,
	    "users_online"));
	printf("accepted:        %llu messages, %.1f/s\n",
	    (unsigned long long)num(r, "accepted"),
	    real(r, "accepted_per_second"));
	printf("delivered:       %llu items, %.1f/s\n",
	    (unsigned long long)num(r, "delivered"),
	    real(r, "delivered_per_second"));
	printf("acked:           %llu items; %llu receipts queued\n",
	    (unsigned long long)num(r, "acked"),
	    (unsigned long long)num(r, "receipts"));
	printf("queues:          %llu items, %s, on %llu devices\n",
	    (unsigned long long)num(r, "queue_items"),
	    fmt_bytes(num(r, "queue_bytes"), b1, sizeof b1),
	    (unsigned long long)num(r, "devices"));
	printf("store:           %s used of %s (%.1f%%)%s\n",
	    fmt_bytes(used, b2, sizeof b2),
	    fmt_bytes(mapsz, b3, sizeof b3),
	    map > 0 ? 100.0 * (double)used / map : 0.0,
	    json_is_true(json_object_get(r, "store_full")) ?
	    ", FULL: writes refused" : "");
	printf("media:           %llu files, %s; %llu uploads\n",
	    (unsigned long long)num(r, "media_files"),
	    fmt_bytes(num(r, "media_bytes"), b1, sizeof b1),
	    (unsigned long long)num(r, "media_uploads"));
	pp = json_object_get(r, "push_posts");
	printf("push:            %s; %llu pending; posts %llu ok, %llu to "
	    "retry, %llu gone, %llu dropped\n", json_is_true(
	    json_object_get(r, "push")) ? "on" : "off",
	    (unsigned long long)num(r, "push_pending"),
	    (unsigned long long)num(pp, "ok"),
	    (unsigned long long)num(pp, "retry"),
	    (unsigned long long)num(pp, "gone"),
	    (unsigned long long)num(pp, "dropped"));
	printf("commits:         %llu (%llu failed); %.2f ms each, %.2f ms "
	    "over the last %.0f s\n", (unsigned long long)num(r, "commits"),
	    (unsigned long long)num(r, "commit_failures"),
	    real(r, "commit_ms_avg"), real(r, "commit_ms"),
	    real(r, "rate_seconds"));
}

/* Prints the new log level. */
static void
show_log_level(json_t *r)
{
	printf("log level: %s\n", str(r, "log_level"));
}

/* Prints one array of the reload report, a line for each entry. */
static void
show_reload_part(json_t *r, const char *key, const char *label)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(r, key), i, v)
		printf("%s%s\n", label, json_string_value(v));
}

/*
 * Prints the reload report: the keys changed, those that need a restart,
 * the files read again and the parts that failed, with why.
 */
static void
show_reload(json_t *r)
{
	show_reload_part(r, "changed", "changed: ");
	show_reload_part(r, "restart", "needs a restart: ");
	show_reload_part(r, "reloaded", "");
	show_reload_part(r, "failed", "FAILED: ");
	if (json_array_size(json_object_get(r, "failed")) == 0)
		printf("configuration re-read from %s\n", str(r, "config"));
}

/* Prints the report of verify or repair and its summary. */
static void
show_verify(json_t *r)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(r, "report"), i, v)
		printf("%s\n", json_string_value(v));
	printf("%s: %llu users, %llu devices, %llu items, %llu messages, "
	    "%llu client ids, %llu blocks, %llu tokens (%llu stale), "
	    "%llu keys, %llu set members, %llu stream entries, %llu groups, "
	    "%llu consumers, %llu pending entries, %llu audit events\n",
	    json_is_true(json_object_get(r, "consistent")) ? "consistent" :
	    "INCONSISTENT", (unsigned long long)num(r, "users"),
	    (unsigned long long)num(r, "devices"),
	    (unsigned long long)num(r, "items"),
	    (unsigned long long)num(r, "messages"),
	    (unsigned long long)num(r, "client_ids"),
	    (unsigned long long)num(r, "blocks"),
	    (unsigned long long)num(r, "tokens"),
	    (unsigned long long)num(r, "stale_tokens"),
	    (unsigned long long)num(r, "keys"),
	    (unsigned long long)num(r, "set_members"),
	    (unsigned long long)num(r, "stream_entries"),
	    (unsigned long long)num(r, "groups"),
	    (unsigned long long)num(r, "consumers"),
	    (unsigned long long)num(r, "pending_entries"),
	    (unsigned long long)num(r, "audit_events"));
	printf("chat groups: %llu groups, %llu memberships\n",
	    (unsigned long long)num(r, "chat_groups"),
	    (unsigned long long)num(r, "group_members"));
	printf("key directory: %llu devices with keys, %llu one-time keys\n",
	    (unsigned long long)num(r, "key_devices"),
	    (unsigned long long)num(r, "one_time_keys"));
	printf("push: %llu endpoints, %llu pending notifications\n",
	    (unsigned long long)num(r, "push_endpoints"),
	    (unsigned long long)num(r, "push_pending"));
	if (json_object_get(r, "media") != NULL)
		printf("media: %llu IDs, %llu files (%llu named by no ID)\n",
		    (unsigned long long)num(r, "media"),
		    (unsigned long long)num(r, "media_files"),
		    (unsigned long long)num(r, "orphan_files"));
	if (num(r, "problems") != 0)
		printf("%llu problems, %llu repaired\n",
		    (unsigned long long)num(r, "problems"),
		    (unsigned long long)num(r, "repaired"));
}

/* Prints where the backup went and how big it is. */
static void
show_backup(json_t *r)
{
	char	b1[32], b2[32];

	printf("backup written to %s: %s (the store uses %s); it opens and "
	    "holds %llu users\n", str(r, "file"),
	    fmt_bytes(num(r, "bytes"), b1, sizeof b1),
	    fmt_bytes(num(r, "store_used"), b2, sizeof b2),
	    (unsigned long long)num(r, "users"));
	if (json_object_get(r, "media_dir") != NULL)
		printf("media copied to %s: %llu files, %s; %llu missing\n",
		    str(r, "media_dir"), (unsigned long long)num(r,
		    "media_files"), fmt_bytes(num(r, "media_bytes"), b1,
		    sizeof b1), (unsigned long long)num(r, "media_missing"));
}

/* The copy thread of a backup: LMDB writes the compacted copy. */
static void *
copy_thread(void *arg)
{
	struct copy	*cp = arg;

	cp->ret = store_copy_fd(cp->store, cp->fd, &cp->cause);
	close(cp->fd);
	return (NULL);
}

/* Updates the progress line on a terminal, at most ten times a second. */
static void
progress(uint64_t done, uint64_t total, int last)
{
	static struct timespec	 prev;
	struct timespec		 now;
	char			 b1[32], b2[32];

	if (!isatty(STDERR_FILENO) || json_out)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!last && (now.tv_sec - prev.tv_sec) * 1000 +
	    (now.tv_nsec - prev.tv_nsec) / 1000000 < 100)
		return;
	prev = now;
	fprintf(stderr, "\rbackup: %s of at most %s%s", fmt_bytes(done, b1,
	    sizeof b1), fmt_bytes(total, b2, sizeof b2), last ? "\n" : "");
}

/* The temporary file of a backup under way, removed if a signal kills it. */
static char	*backup_tmp;

/* A signal during a backup: remove its temporary file, then die of it. */
static void
backup_signal(int sig)
{
	if (backup_tmp != NULL)
		unlink(backup_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Catches (on) or releases (off) the signals that would kill a backup. */
static void
backup_catch(int on)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
	size_t			 i;

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], on ? backup_signal : SIG_DFL);
}

/* Counts the accounts of a store: it opens and can be read. */
static int
count_user_fn(void *arg, const char *user, const struct user_rec *u)
{
	(void)user; (void)u;
	(*(uint64_t *)arg)++;
	return (STORE_WALK_NEXT);
}

/*
 * backup FILE: a compacted copy from one read transaction, written to a
 * temporary file next to FILE, synced, opened to check it, then renamed.
 * An existing FILE is never replaced.
 */
static int
run_backup(const struct opts *o, struct store *s, char **args,
    json_t **res)
{
	struct copy	 cp;
	struct store	*copy;
	struct txn	 txn;
	struct stat	 st;
	pthread_t	 th;
	const char	*file = args[0];
	char		*tmp, *dcopy, *cause, buf[65536];
	uint64_t	 used = 0, map, done = 0, users = 0;
	ssize_t		 n;
	int		 fds[2], out, dfd;

	(void)o;
	if (lstat(file, &st) == 0)
		die("%s exists; a backup never replaces a file", file);
	store_usage(s, &used, &map);
	xasprintf(&tmp, "%s.XXXXXX", file);
	backup_tmp = tmp;
	backup_catch(1);
	if ((out = mkstemp(tmp)) == -1)
		die("%s: %s", tmp, strerror(errno));
	if (pipe(fds) == -1)
		die("pipe: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	cp.store = s;
	cp.fd = fds[1];
	cp.ret = STORE_ERR;
	cp.cause = NULL;
	if (pthread_create(&th, NULL, copy_thread, &cp) != 0)
		die("cannot start the copy");
	for (;;) {
		n = read(fds[0], buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write_all(out, buf, (size_t)n) == -1) {
			unlink(tmp);
			die("%s: %s", tmp, strerror(errno));
		}
		done += (uint64_t)n;
		progress(done, used, 0);
	}
	close(fds[0]);
	pthread_join(th, NULL);
	progress(done, used, 1);
	if (n == -1 || cp.ret != STORE_OK || fsync(out) == -1 ||
	    close(out) == -1) {
		unlink(tmp);
		die("the copy failed: %s", cp.cause != NULL ? cp.cause :
		    strerror(errno));
	}
	if (store_open_readonly(&copy, tmp, &cause) != STORE_OK) {
		unlink(tmp);
		die("the copy does not open: %s", cause);
	}
	if (store_txn_begin(copy, &txn, 0) != STORE_OK ||
	    store_user_walk(&txn, count_user_fn, &users) != STORE_OK) {
		unlink(tmp);
		die("the copy cannot be read");
	}
	store_txn_abort(&txn);
	store_close(copy);
	if (rename(tmp, file) == -1) {
		unlink(tmp);
		die("rename %s: %s", file, strerror(errno));
	}
	backup_catch(0);
	backup_tmp = NULL;
	dcopy = xstrdup(file);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	*res = json_pack("{s:s,s:I,s:I,s:I}", "file", file,
	    "bytes", (json_int_t)done, "store_used", (json_int_t)used,
	    "users", (json_int_t)users);
	return (0);
}

/* report callback of verify: one line into the report. */
static void
verify_line(void *arg, const char *line)
{
	json_array_append_new(arg, json_string(line));
}

/* verify: every index against the data, in one read transaction. */
static int
run_verify(const struct opts *o, struct store *s, char **args,
    json_t **res)
{
	struct txn	 txn;
	json_t		*report;
	int		 ret;

	(void)args;
	if (store_txn_begin(s, &txn, 0) != STORE_OK)
		die("cannot read the store");
	report = json_array();
	ret = admin_verify(&txn, 0, verify_line, report, res);
	if (ret == STORE_OK)
		ret = media_verify(&txn, NULL, o->media_dir, 0, verify_line,
		    report, *res);
	if (ret == STORE_OK)
		ret = push_verify(&txn, 0, verify_line, report, *res);
	store_txn_abort(&txn);
	if (ret != STORE_OK)
		die("the store could not be read to the end: it is damaged");
	json_object_set_new(*res, "report", report);
	return (json_is_true(json_object_get(*res, "consistent")) ? 0 : 1);
}

/*
 * repair, first: the checks of verify, here on the store read-only, as
 * verify runs them.  A consistent store is the answer (the same as the
 * daemon's repair would give); NULL sends repair to the daemon, which
 * fixes in its write transaction: problems found, the store or its
 * configuration not readable here, or -s naming a daemon whose store the
 * configuration may not name.
 */
static json_t *
precheck(const struct opts *o)
{
	struct conf	 conf;
	struct store	*s;
	struct txn	 txn;
	char		*cause = NULL, *dir, *media;
	json_t		*report, *res = NULL;
	int		 ret;

	if (o->socket != NULL)
		return (NULL);
	conf_init(&conf);
	if (conf_load(&conf, o->conf, &cause) != 0) {
		free(cause);
		conf_clear(&conf);
		return (NULL);
	}
	dir = xstrdup(conf.data_dir);
	if (conf.media_dir != NULL)
		media = xstrdup(conf.media_dir);
	else
		xasprintf(&media, "%s/media", dir);
	conf_clear(&conf);
	lock_file_prepare(dir);
	if (store_open_readonly(&s, dir, &cause) != STORE_OK) {
		free(cause);
		free(dir);
		free(media);
		return (NULL);
	}
	report = json_array();
	if ((ret = store_txn_begin(s, &txn, 0)) == STORE_OK) {
		ret = admin_verify(&txn, 0, verify_line, report, &res);
		if (ret == STORE_OK)
			ret = media_verify(&txn, NULL, media, 0, verify_line,
			    report, res);
		if (ret == STORE_OK)
			ret = push_verify(&txn, 0, verify_line, report, res);
		store_txn_abort(&txn);
	}
	store_close(s);
	free(dir);
	free(media);
	if (ret != STORE_OK || !json_is_true(json_object_get(res,
	    "consistent")) || json_array_size(report) != 0) {
		json_decref(report);
		json_decref(res);
		return (NULL);
	}
	json_object_set_new(res, "report", report);
	return (res);
}

/* Prints a user's media as a table and the bytes its quota counts. */
static void
show_media_list(json_t *r)
{
	json_t	*m;
	size_t	 i;
	char	 b1[32], b2[32];

	printf("%-22s %10s %-4s %-5s %-24s %s\n", "MEDIA", "SIZE", "REFS",
	    "LIVE", "TYPE", "CREATED");
	json_array_foreach(json_object_get(r, "media"), i, m)
		printf("%-22s %10s %4llu %-5s %-24s %s\n", str(m, "media"),
		    fmt_bytes(num(m, "size"), b1, sizeof b1),
		    (unsigned long long)num(m, "refs"), yesno(m, "live"),
		    str(m, "type"), fmt_time(json_object_get(m, "created"), b2,
		    sizeof b2));
	printf("%s: %s of live media\n", str(r, "user"),
	    fmt_bytes(num(r, "quota_bytes"), b1, sizeof b1));
}

/* Prints one media record. */
static void
show_media_show(json_t *r)
{
	char	b[32];

	printf("media:           %s\n", str(r, "media"));
	printf("uploader:        %s\n", str(r, "uploader"));
	printf("size:            %llu bytes\n", (unsigned long long)num(r,
	    "size"));
	printf("type:            %s\n", str(r, "type"));
	printf("sha256:          %s\n", str(r, "sha256"));
	printf("created:         %s\n", fmt_time(json_object_get(r,
	    "created"), b, sizeof b));
	printf("last reference:  %s\n", fmt_time(json_object_get(r,
	    "last_ref"), b, sizeof b));
	printf("references:      %llu\n", (unsigned long long)num(r,
	    "refs"));
	printf("live:            %s\n", yesno(r, "live"));
}

/* Prints what media del deleted. */
static void
show_media_del(json_t *r)
{
	printf("media %s of %s deleted (%llu bytes)\n", str(r, "media"),
	    str(r, "uploader"), (unsigned long long)num(r, "size"));
}

/* Prints the push endpoints and pending notifications of a user. */
static void
show_push_show(json_t *r)
{
	json_t	*d, *p;
	size_t	 i;
	char	 b[32];

	json_array_foreach(json_object_get(r, "devices"), i, d) {
		p = json_object_get(d, "pending");
		printf("device:          %s:%s%s\n", str(r, "user"),
		    str(d, "device"), json_is_true(json_object_get(d,
		    "device_exists")) ? "" : " (no such device)");
		printf("endpoint:        %s\n", json_is_string(
		    json_object_get(d, "endpoint")) ? str(d, "endpoint") : "-");
		printf("kind:            %s\n", json_is_string(
		    json_object_get(d, "kind")) ? str(d, "kind") : "-");
		printf("encrypted:       %s\n", yesno(d, "encrypted"));
		printf("failures:        %llu\n", (unsigned long long)num(d,
		    "failures"));
		if (p == NULL || json_is_null(p))
			printf("pending:         -\n");
		else
			printf("pending:         %s, due %s, %llu tries%s\n",
			    str(p, "mid"), fmt_time(json_object_get(p, "due"),
			    b, sizeof b), (unsigned long long)num(p, "tries"),
			    json_is_true(json_object_get(p, "plain")) ?
			    ", without content" : "");
	}
	if (json_array_size(json_object_get(r, "devices")) == 0)
		printf("%s: no push endpoint\n", str(r, "user"));
}

/* Prints what push del deleted. */
static void
show_push_del(json_t *r)
{
	printf("push endpoint of %s:%s deleted%s\n", str(r, "user"),
	    str(r, "device"), json_is_true(json_object_get(r, "pending")) ?
	    ", with its pending notification" : "");
}

/* What the media part of a backup copies, from the copy's records. */
struct media_copy {
	const char	*from, *to;
	uint64_t	 files, bytes, missing;
};

/* Copies one file into the backup's media directory, synced. */
static int
media_copy_fn(void *arg, const uint8_t *sha, const struct media_file *f)
{
	struct media_copy	*mc = arg;
	struct stat		 st;
	char			 src[PATH_MAX], dst[PATH_MAX], *tmp, buf[65536];
	ssize_t			 n;
	int			 in, out;

	(void)f;
	media_path(mc->from, sha, src, sizeof src);
	media_path(mc->to, sha, dst, sizeof dst);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			die("%s: %s", src, strerror(errno));
		fprintf(stderr, "tickctl: %s is gone (deleted since the "
		    "copy?)\n", src);
		mc->missing++;
		return (STORE_WALK_NEXT);
	}
	if (fstat(in, &st) == -1)
		die("%s: %s", src, strerror(errno));
	mc->files++;
	mc->bytes += (uint64_t)st.st_size;
	/* Files are named by their content: one already there is this one. */
	if (stat(dst, &st) == 0) {
		close(in);
		return (STORE_WALK_NEXT);
	}
	xasprintf(&tmp, "%s.XXXXXX", dst);
	if ((out = mkstemp(tmp)) == -1)
		die("%s: %s", tmp, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write_all(out, buf, (size_t)n) == -1) {
			unlink(tmp);
			die("copying %s: %s", src, strerror(errno));
		}
	}
	if (fsync(out) == -1 || close(out) == -1 || rename(tmp, dst) == -1) {
		unlink(tmp);
		die("%s: %s", dst, strerror(errno));
	}
	close(in);
	free(tmp);
	return (STORE_WALK_NEXT);
}

/*
 * backup FILE --media DIR: the store's backup, then every media file its
 * copy names, copied into DIR (files already there are kept: a file's
 * name is its content's hash, so DIR may be the last backup's).  A file
 * deleted between the two is reported and left out.
 */
static int
run_backup_media(const struct opts *o, struct store *s, char **args,
    json_t **res)
{
	struct media_copy	 mc;
	struct store		*copy;
	struct txn		 txn;
	char			*cause;
	int			 dfd, ret;

	if (o->media_dir == NULL)
		die("-d names a data file: it has no media_dir to copy");
	if (mkdir(args[1], 0700) == -1 && errno != EEXIST)
		die("%s: %s", args[1], strerror(errno));
	if ((ret = run_backup(o, s, args, res)) != 0)
		return (ret);
	if (store_open_readonly(&copy, args[0], &cause) != STORE_OK)
		die("the copy does not open: %s", cause);
	memset(&mc, 0, sizeof mc);
	mc.from = o->media_dir;
	mc.to = args[1];
	if (store_txn_begin(copy, &txn, 0) != STORE_OK ||
	    store_media_file_walk(&txn, media_copy_fn, &mc) != STORE_OK)
		die("the copy cannot be read");
	store_txn_abort(&txn);
	store_close(copy);
	if ((dfd = open(args[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	json_object_update_new(*res, json_pack("{s:s,s:I,s:I,s:I}",
	    "media_dir", args[1], "media_files", (json_int_t)mc.files,
	    "media_bytes", (json_int_t)mc.bytes, "media_missing",
	    (json_int_t)mc.missing));
	return (0);
}

/*
 * dump's progress on a terminal: the records written so far, at most ten
 * times a second; n 0 writes the last count and ends the line.
 */
static void
dump_progress(void *arg, uint64_t n)
{
	static struct timespec	 prev;
	static uint64_t		 last;
	static int		 shown;
	struct timespec		 now;

	(void)arg;
	if (!isatty(STDERR_FILENO))
		return;
	if (n == 0) {
		if (shown)
			fprintf(stderr, "\rdump: %llu records\n",
			    (unsigned long long)last);
		shown = 0;
		return;
	}
	last = n;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - prev.tv_sec) * 1000 +
	    (now.tv_nsec - prev.tv_nsec) / 1000000 < 100)
		return;
	prev = now;
	shown = 1;
	fprintf(stderr, "\rdump: %llu records", (unsigned long long)n);
}

/*
 * dump USER: what the store holds about one user, streamed to standard
 * output as it is read, indented unless -j.
 */
static int
run_dump(const struct opts *o, struct store *s, char **args, json_t **res)
{
	struct txn	txn;
	int		ret;

	(void)o;
	if (!valid_user(args[0], strlen(args[0])))
		die("bad user name \"%s\"", args[0]);
	if (store_txn_begin(s, &txn, 0) != STORE_OK)
		die("cannot read the store");
	*res = NULL;
	ret = admin_dump_write(&txn, args[0], now_ms(), stdout, !json_out,
	    dump_progress, NULL);
	dump_progress(NULL, 0);
	store_txn_abort(&txn);
	if (ret == STORE_NOTFOUND)
		die("no such user: %s", args[0]);
	if (ret != STORE_OK)
		die("the store could not be read: it is damaged");
	if (fflush(stdout) == EOF || ferror(stdout))
		die("standard output: %s", strerror(errno));
	return (0);
}

/* Prints a result as the command shows it, or as JSON with -j. */
static void
print_result(const struct cmd *cmd, json_t *res)
{
	json_object_del(res, "v");
	json_object_del(res, "ok");
	if (json_out) {
		if (json_dumpf(res, stdout, JSON_COMPACT) == -1)
			die("cannot write the result");
		printf("\n");
	} else
		cmd->show(res);
	if (fflush(stdout) == EOF || ferror(stdout))
		die("standard output: %s", strerror(errno));
}

/* Loads the configuration; dies naming -s or -d, which avoid it. */
static void
load_conf(const struct opts *o, struct conf *conf, const char *avoid)
{
	char	*cause = NULL;

	conf_init(conf);
	if (conf_load(conf, o->conf, &cause) != 0)
		die("%s (or give %s)", cause, avoid);
}

/* Parses the options, finds the command and runs it here or in the daemon. */
int
main(int argc, char **argv)
{
	const struct cmd	*cmd;
	struct opts		 o;
	struct conf		 conf;
	struct store		*store;
	struct stat		 st;
	char			 name[64], *cause, *pw = NULL, *owned = NULL;
	char			*words[WORDS_MAX + 1], *argsv[WORDS_MAX];
	char			 pbuf[128], *pw_words[WORDS_MAX];
	json_t			*args, *res = NULL;
	int			 ch, i, n = 0, nargs = 0, np, status = 0;

	memset(&o, 0, sizeof o);
	o.conf = TICKD_CONF_DEFAULT;
	/* The reason of a failure is the one line tickctl prints. */
	log_init(1, L_ERROR);
	while ((ch = getopt(argc, argv, "+c:d:js:")) != -1) {
		switch (ch) {
		case 'c':
			o.conf = optarg;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'j':
			o.json = json_out = 1;
			break;
		case 's':
			o.socket = optarg;
			break;
		default:
			usage();
		}
	}
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--stdin") == 0)
			o.stdin_pw = 1;
		else if (n < WORDS_MAX)
			words[n++] = argv[i];
		else
			die("too many words in the command");
	}
	if (n == 0)
		usage();
	if (n == 1 && strcmp(words[0], "version") == 0) {
		/* tickctl's own; the daemon's is in stats. */
		if (json_out)
			printf("{\"version\":\"%s\"}\n", PACKAGE_VERSION);
		else
			printf("tickctl %s\n", PACKAGE_VERSION);
		return (0);
	}
	cmd = cmd_find(n, words);
	if (o.stdin_pw && !(cmd->flags & F_PASSWORD))
		die("--stdin goes with user add and user passwd only");
	np = pattern_words(cmd->pattern, pbuf, sizeof pbuf, pw_words);
	for (i = 0; i < np; i++) {
		if (pw_words[i][0] == '<')
			argsv[nargs++] = words[i];
	}
	cmd_name(cmd, name, sizeof name);

	if (cmd->flags & F_STORE) {
		if (o.dir == NULL) {
			load_conf(&o, &conf, "-d");
			o.dir = owned = xstrdup(conf.data_dir);
			if (conf.media_dir != NULL)
				o.media_dir = xstrdup(conf.media_dir);
			conf_clear(&conf);
		}
		/* A single data file, such as a backup, has no media. */
		if (o.media_dir == NULL && stat(o.dir, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			xasprintf(&o.media_dir, "%s/media", o.dir);
		lock_file_prepare(o.dir);
		if (store_open_readonly(&store, o.dir, &cause) != STORE_OK)
			die("%s", cause);
		status = cmd->local(&o, store, argsv, &res);
		store_close(store);
		free(owned);
		free(o.media_dir);
		if (res != NULL)
			print_result(cmd, res);
		json_decref(res);
		if (status != 0)
			fprintf(stderr, "tickctl: the store is inconsistent; "
			    "see REPAIR in tickctl(8)\n");
		return (status);
	}

	/* A consistent store needs no repair, nor the daemon's loop. */
	if ((cmd->flags & F_PRECHECK) && (res = precheck(&o)) != NULL) {
		print_result(cmd, res);
		json_decref(res);
		return (0);
	}
	if (o.socket == NULL) {
		load_conf(&o, &conf, "-s");
		o.socket = owned = xstrdup(conf.control_socket);
		conf_clear(&conf);
	}
	args = json_array();
	for (i = 0; i < nargs; i++)
		json_array_append_new(args, json_string(argsv[i]));
	if (cmd->flags & F_PASSWORD) {
		pw = password_read(argsv[0], o.stdin_pw);
		json_array_append_new(args, json_string(pw));
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	if (cmd->flags & F_IMPORT) {
		status = run_import(cmd, o.socket, argsv[0]);
		json_decref(args);
		free(owned);
		return (status);
	}
	res = daemon_request(o.socket, name, args);
	json_decref(args);
	free(owned);
	if (json_integer_value(json_object_get(res, "v")) != CONTROL_VERSION &&
	    !json_is_string(json_object_get(res, "error")))
		die("tickd speaks control protocol version %lld, this tickctl "
		    "version %d", (long long)json_integer_value(
		    json_object_get(res, "v")), CONTROL_VERSION);
	/* A reload that failed in part still says what it did. */
	if (!json_is_true(json_object_get(res, "ok")) &&
	    cmd->show == show_reload && json_is_array(json_object_get(res,
	    "failed")))
		print_result(cmd, res);
	if (!json_is_true(json_object_get(res, "ok")))
		die("%s", json_is_string(json_object_get(res, "error")) ?
		    json_string_value(json_object_get(res, "error")) :
		    "tickd refused the command without saying why");
	print_result(cmd, res);
	json_decref(res);
	return (0);
}

/* Prints an imported user. */
static void
show_user_import(json_t *r)
{
	printf("imported %s\n", str(r, "user"));
}

/*
 * user import: each line of path ("-": standard input) is a JSON object
 * with "user" and "password_hash", sent to the daemon as a request of its
 * own.  A bad line is reported with its number and the others still go;
 * 1 if any failed.
 */
static int
run_import(const struct cmd *cmd, const char *sock, const char *path)
{
	FILE			*f;
	json_t			*line, *args, *res;
	json_error_t		 jerr;
	char			*buf = NULL;
	const char		*user, *hash;
	size_t			 cap = 0;
	unsigned long		 lineno = 0, failed = 0;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL)
		die("%s: %s", path, strerror(errno));
	while (getline(&buf, &cap, f) != -1) {
		lineno++;
		if (buf[strspn(buf, " \t\r\n")] == '\0')
			continue;
		line = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
		user = json_string_value(json_object_get(line, "user"));
		hash = json_string_value(json_object_get(line,
		    "password_hash"));
		if (user == NULL || hash == NULL) {
			fprintf(stderr, "tickctl: %s:%lu: %s\n", path, lineno,
			    line == NULL ? jerr.text : "need \"user\" and "
			    "\"password_hash\" strings");
			failed++;
			json_decref(line);
			continue;
		}
		args = json_pack("[s,s]", user, hash);
		res = daemon_request(sock, "user import", args);
		json_decref(args);
		if (json_is_true(json_object_get(res, "ok")))
			print_result(cmd, res);
		else {
			fprintf(stderr, "tickctl: %s:%lu: %s\n", path, lineno,
			    json_string_value(json_object_get(res, "error")));
			failed++;
		}
		json_decref(res);
		json_decref(line);
	}
	if (ferror(f))
		die("%s: %s", path, strerror(errno));
	free(buf);
	if (f != stdin)
		fclose(f);
	return (failed != 0);
}

/* audit: the state of the audit log in PostgreSQL (tickd-audit(7)). */
static void
show_audit(json_t *r)
{
	json_t	*last = json_object_get(r, "last_shipped");
	json_t	*gap = json_object_get(r, "unkept");

	printf("audit log:       %s\n", json_is_true(json_object_get(r,
	    "enabled")) ? "on" : "off (audit_pg is unset)");
	printf("state:           %s\n", str(r, "state"));
	printf("spool:           %llu events waiting (at most %llu)\n",
	    (unsigned long long)num(r, "spool"),
	    (unsigned long long)num(r, "spool_max"));
	if (json_is_object(last))
		printf("last shipped:    event %llu of %s\n",
		    (unsigned long long)num(last, "event_id"), str(last, "at"));
	else
		printf("last shipped:    -\n");
	printf("since start:     %llu shipped, %llu dropped, %llu failures\n",
	    (unsigned long long)num(r, "shipped"),
	    (unsigned long long)num(r, "dropped"),
	    (unsigned long long)num(r, "failures"));
	if (json_is_object(gap))
		printf("not kept:        %llu events since %s (spool full)\n",
		    (unsigned long long)num(gap, "events"), str(gap, "since"));
	if (*str(r, "last_error") != '\0')
		printf("last error:      %s\n", str(r, "last_error"));
}
