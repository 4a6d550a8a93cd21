/* SPDX-License-Identifier: ISC */
/*
 * tickd.c: the daemon's entry point: options, configuration, daemonizing
 * and the pidfile.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"

/* Prints the usage line and exits 1. */
static __dead void
usage(void)
{
	fprintf(stderr, "usage: tickd [-ftVv] [-c file]\n");
	exit(1);
}

/*
 * Forks into the background.  The parent waits until the child reports
 * that it is serving (one byte on the pipe) or dies, so that a start-up
 * error still reaches the terminal and the exit status of tickd.
 */
static int
daemonize(void)
{
	int	fds[2], status;
	pid_t	pid;
	char	c;

	if (pipe(fds) == -1)
		fatal("pipe");
	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		close(fds[0]);
		if (setsid() == -1)
			fatal("setsid");
		return (fds[1]);
	default:
		close(fds[1]);
		if (read(fds[0], &c, 1) == 1)
			exit(0);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			exit(WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
		exit(1);
	}
}

/* The child is serving: release the parent and the terminal. */
static void
detach(int fd)
{
	int	null;

	if (write(fd, "", 1) != 1)
		fatal("daemonize");
	close(fd);
	if (chdir("/") == -1)
		fatal("chdir");
	if ((null = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
}

/*
 * Opens the pidfile while tickd may still be root: with conf user set it
 * serves as that user, who may not write where pidfiles go.  Nothing is
 * written yet, so a second tickd that fails to start leaves the first
 * one's pidfile alone; *created says whether to remove it then.  In the
 * foreground a pidfile that cannot be opened is only a warning (a
 * supervisor knows the process id): -1.
 */
static int
pidfile_open(const char *path, int *created, int foreground)
{
	int	fd;

	*created = 1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1 && errno == EEXIST) {
		*created = 0;
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd == -1 && foreground)
		log_warn("pidfile %s, not written", path);
	else if (fd == -1)
		fatal("pidfile %s", path);
	return (fd);
}

/* Writes the process id, once tickd serves. */
static void
pidfile_write(int fd, const char *path)
{
	if (ftruncate(fd, 0) == -1 || dprintf(fd, "%ld\n", (long)getpid()) < 0)
		fatal("pidfile %s", path);
}

/* Removes the pidfile, or empties it if the user may not remove it. */
static void
pidfile_remove(int fd, const char *path)
{
	if (unlink(path) == -1 && ftruncate(fd, 0) == -1)
		log_warn("pidfile %s", path);
	close(fd);
}

/*
 * Parses the options and the configuration, starts the server (in the
 * background unless -f) and runs its loop.
 */
int
main(int argc, char **argv)
{
	const char	*path = TICKD_CONF_DEFAULT;
	char		*cause = NULL;
	int		 ch, foreground = 0, check = 0, verbose = 0;
	int		 status_fd = -1;
	int		 pidfd = -1, created = 0;

	while ((ch = getopt(argc, argv, "c:ftVv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("tickd %s\n", PACKAGE_VERSION);
			return (0);
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	srv.stats.started_ms = now_ms();
	if (hash_key_init() != 0)
		fatal("getrandom");

	conf_init(&srv.conf);
	if (conf_load(&srv.conf, path, &cause) != 0) {
		fprintf(stderr, "tickd: %s\n", cause);
		free(cause);
		conf_clear(&srv.conf);
		return (1);
	}
	if (audit_check(&srv.conf, &cause) != 0 ||
	    push_check(&srv.conf, &cause) != 0 ||
	    cluster_check(&srv.conf, &cause) != 0) {
		fprintf(stderr, "tickd: %s: %s\n", path, cause);
		free(cause);
		conf_clear(&srv.conf);
		return (1);
	}
	if (check && media_dir_check(&srv.conf, &cause) != 0) {
		fprintf(stderr, "tickd: %s: %s\n", path, cause);
		free(cause);
		conf_clear(&srv.conf);
		return (1);
	}
	if (check) {
		fprintf(stderr, "tickd: %s: configuration OK\n", path);
		conf_clear(&srv.conf);
		return (0);
	}
	srv.verbose = verbose;
	if (verbose)
		srv.conf.log_level = L_DEBUG;

	/* Start-up errors go to the terminal, even when daemonizing. */
	log_init(1, srv.conf.log_level);
	notify_init();
	if (!foreground)
		status_fd = daemonize();
	pidfd = pidfile_open(srv.conf.pidfile, &created, foreground);
	if (server_init(&cause) != 0) {
		if (pidfd != -1 && created)
			unlink(srv.conf.pidfile);
		fatalx("%s", cause);
	}
	if (pidfd != -1)
		pidfile_write(pidfd, srv.conf.pidfile);
	if (!foreground) {
		log_init(0, srv.conf.log_level);
		detach(status_fd);
	}
	log_info("tickd: serving on %s, data in %s", srv.conf.listen,
	    srv.conf.data_dir);
	notify_ready(srv.base);

	server_loop();
	notify_free();

	if (pidfd != -1)
		pidfile_remove(pidfd, srv.conf.pidfile);
	log_info("tickd: stopped");
	server_free();
	return (0);
}
