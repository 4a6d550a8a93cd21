/* SPDX-License-Identifier: ISC */
/*
 * priv.c: running as an unprivileged user.  Started as root, tickd binds
 * its ports and the control socket, then becomes conf user/group (as
 * smtpd does with _smtpd) before it opens the store, so every file in
 * data_dir belongs to that user.  Started as that user (systemd's User=),
 * there is nothing to drop.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tickd.h"

static uid_t	priv_uid;
static gid_t	priv_gid;
static int	priv_switch;	/* root now, priv_uid after priv_drop() */

/*
 * Resolves user and group.  Not started as root, tickd must already be
 * that user: it cannot become another one.
 */
int
priv_init(char **cause)
{
	struct passwd	*pw;
	struct group	*gr;

	priv_uid = geteuid();
	priv_gid = getegid();
	priv_switch = 0;
	if (srv.conf.user == NULL) {
		if (srv.conf.group != NULL) {
			*cause = xstrdup("group is set but user is not: set "
			    "both, or neither");
			return (-1);
		}
		return (0);
	}
	errno = 0;
	if ((pw = getpwnam(srv.conf.user)) == NULL) {
		xasprintf(cause, "user %s: %s", srv.conf.user, errno != 0 ?
		    strerror(errno) : "no such user (create it, for example "
		    "with adduser --system)");
		return (-1);
	}
	priv_uid = pw->pw_uid;
	priv_gid = pw->pw_gid;
	if (srv.conf.group != NULL) {
		errno = 0;
		if ((gr = getgrnam(srv.conf.group)) == NULL) {
			xasprintf(cause, "group %s: %s", srv.conf.group,
			    errno != 0 ? strerror(errno) : "no such group");
			return (-1);
		}
		priv_gid = gr->gr_gid;
	}
	if (geteuid() == 0) {
		priv_switch = priv_uid != 0;
		return (0);
	}
	if (geteuid() != priv_uid || (srv.conf.group != NULL &&
	    getegid() != priv_gid)) {
		xasprintf(cause, "user %s%s%s: tickd was started as uid %u "
		    "gid %u and only root can switch: start it as root or as "
		    "that user", srv.conf.user, srv.conf.group != NULL ?
		    ", group " : "", srv.conf.group != NULL ? srv.conf.group :
		    "", (unsigned)geteuid(), (unsigned)getegid());
		return (-1);
	}
	return (0);
}

/* The uid and gid tickd serves as, for the files it creates as root. */
void
priv_ids(uid_t *uid, gid_t *gid)
{
	*uid = priv_uid;
	*gid = priv_gid;
}

/*
 * Prepares data_dir for the user and becomes that user for good.  A root
 * that stays root refuses a data_dir others may write to: whoever can
 * replace its files could feed the daemon a crafted store.
 */
int
priv_drop(char **cause)
{
	const char	*dir = srv.conf.data_dir;
	struct stat	 st;
	gid_t		 gid = priv_gid;

	if (stat(dir, &st) == -1) {
		if (errno != ENOENT) {
			xasprintf(cause, "data_dir %s: %s", dir,
			    strerror(errno));
			return (-1);
		}
		if (priv_switch && (mkdir(dir, 0700) == -1 ||
		    chown(dir, priv_uid, priv_gid) == -1)) {
			xasprintf(cause, "cannot create data_dir %s for user "
			    "%s: %s", dir, srv.conf.user, strerror(errno));
			return (-1);
		}
	} else if (priv_switch && st.st_uid != priv_uid) {
		xasprintf(cause, "data_dir %s belongs to uid %u, not to user "
		    "%s (uid %u): chown -R %s %s", dir, (unsigned)st.st_uid,
		    srv.conf.user, (unsigned)priv_uid, srv.conf.user, dir);
		return (-1);
	} else if (geteuid() == 0 && !priv_switch &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		xasprintf(cause, "data_dir %s is writable by its group or by "
		    "others and tickd would run as root: chmod 700 %s, or set "
		    "user in tickd.conf", dir, dir);
		return (-1);
	}
	if (!priv_switch)
		return (0);
	if (setgroups(1, &gid) == -1 ||
	    setresgid(priv_gid, priv_gid, priv_gid) == -1 ||
	    setresuid(priv_uid, priv_uid, priv_uid) == -1) {
		xasprintf(cause, "cannot become user %s: %s", srv.conf.user,
		    strerror(errno));
		return (-1);
	}
	if (setuid(0) != -1) {
		xasprintf(cause, "still able to become root after switching "
		    "to user %s", srv.conf.user);
		return (-1);
	}
	priv_switch = 0;
	log_debug("tickd: running as user %s (uid %u, gid %u)", srv.conf.user,
	    (unsigned)priv_uid, (unsigned)priv_gid);
	return (0);
}
