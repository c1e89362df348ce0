/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk unit test: file input and durable file output (common/cpk_file.h):
 * atomic replace with the requested mode, nothing left behind on failure,
 * only regular files read or replaced (a FIFO and a device node made in a
 * private folder: never the machine's /dev/null), the StrictModes ownership
 * rule, and the error messages.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpk_file.h"
#include "testlib.h"

static size_t
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * Security review, issue 10: an existing output that is not a regular file
 * is refused before anything is written (as root, rename(2) over a device
 * node would replace it), and an input that is not one is refused at once
 * (opening a FIFO without a writer would wait forever).
 */
static void
test_not_regular(const char *dir)
{
	char fifo[256], node[256], sub[256], reg[256], link[256];
	struct cpk_error err;
	struct stat sb;
	int fd = 99;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(node, sizeof(node), "%s/null", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(reg, sizeof(reg), "%s/reg", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK(mkdir(sub, 0700) == 0);
	CHECK_OK(cpk_file_replace(reg, (const uint8_t *)"r", 1, 0600, &err));
	CHECK(symlink("reg", link) == 0);

	CHECK_STATUS(cpk_file_replace(fifo, (const uint8_t *)"x", 1, 0600, &err), CPK_ERR_IO);
	CHECK(strncmp(err.msg, "output '", 8) == 0);
	CHECK_MSG(&err, "/fifo' is a FIFO, not a regular file: cpk replaces only regular files; "
	    "name another file");
	CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
	CHECK_STATUS(cpk_output_check(sub, "run log", &err), CPK_ERR_IO);
	CHECK_MSG(&err, "run log '");
	CHECK_MSG(&err, "/sub' is a directory, not a regular file");
	CHECK_OK(cpk_output_check(reg, "output", &err));
	CHECK_OK(cpk_output_check(link, "output", &err));	/* the link is replaced, not followed */
	snprintf(node, sizeof(node), "%s/missing", dir);
	CHECK_OK(cpk_output_check(node, "output", &err));

	CHECK_STATUS(cpk_input_open(fifo, "trusted key", 0, &fd, NULL, &err), CPK_ERR_IO);
	CHECK(fd == -1);
	CHECK_MSG(&err, "/fifo' is a FIFO, not a regular file: cpk reads only regular files");
	CHECK_STATUS(cpk_input_open(sub, NULL, 0, &fd, NULL, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "/sub' is a directory, not a regular file");
	CHECK(strncmp(err.msg, "'", 1) == 0);
	CHECK_STATUS(cpk_input_open(node, "bundle", 0, &fd, NULL, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "cannot open bundle '");
	CHECK_MSG(&err, "/missing': No such file or directory");
	CHECK_STATUS(cpk_input_open(link, "key file", O_NOFOLLOW, &fd, NULL, &err), CPK_ERR_IO);
	CHECK(fd == -1);
	CHECK_OK(cpk_input_open(reg, "bundle", 0, &fd, &sb, &err));
	CHECK(fd >= 0 && S_ISREG(sb.st_mode) && sb.st_size == 1);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	if (fd >= 0)
		close(fd);

	/* A stream (cards file, bundle) may be a FIFO: it waits for its writer. */
	{
		pid_t pid;
		char buf[8];
		int status;

		fflush(NULL);
		CHECK((pid = fork()) >= 0);
		if (pid == 0) {
			int w = open(fifo, O_WRONLY);

			_exit(w >= 0 && write(w, "rec\n", 4) == 4 ? 0 : 1);
		}
		CHECK_OK(cpk_stream_open(fifo, "cards file", &fd, &err));
		CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && memcmp(buf, "rec\n", 4) == 0);
		if (fd >= 0)
			close(fd);
		CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0);
	}
	CHECK_OK(cpk_stream_open(reg, "bundle", &fd, &err));
	if (fd >= 0)
		close(fd);
	CHECK_STATUS(cpk_stream_open(sub, "cards file", &fd, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cards file '");
	CHECK_MSG(&err, "/sub' is a directory, not a regular file");
	CHECK_STATUS(cpk_stream_open(node, "bundle", &fd, &err), CPK_ERR_NOT_FOUND);
	CHECK_MSG(&err, "/missing': No such file or directory");

	/* A character device with the null device's numbers (root only). */
	snprintf(node, sizeof(node), "%s/null", dir);
	if (mknod(node, S_IFCHR | 0600, makedev(1, 3)) != 0) {
		fprintf(stderr, "file: mknod not permitted, device node cases not tested\n");
	} else {
		CHECK_STATUS(cpk_file_replace(node, (const uint8_t *)"x", 1, 0600, &err),
		    CPK_ERR_IO);
		CHECK_MSG(&err, "/null' is a character device, not a regular file: cpk replaces "
		    "only regular files");
		CHECK(lstat(node, &sb) == 0 && S_ISCHR(sb.st_mode));
		CHECK_STATUS(cpk_input_open(node, "signing key", 0, &fd, NULL, &err), CPK_ERR_IO);
		CHECK_MSG(&err, "signing key '");
		CHECK_MSG(&err, "/null' is a character device, not a regular file");
		CHECK_STATUS(cpk_stream_open(node, "cards file", &fd, &err), CPK_ERR_IO);
		CHECK_MSG(&err, "cards file '");
		CHECK_MSG(&err, "/null' is a character device, not a regular file");
		unlink(node);
	}
	CHECK_STR(cpk_file_kind(S_IFSOCK), "a socket");
	CHECK_STR(cpk_file_kind(S_IFBLK), "a block device");
	unlink(fifo);
	unlink(link);
	unlink(reg);
	rmdir(sub);
}

/* OpenSSH's StrictModes, with the wording of each use. */
static void
test_owner(const char *dir)
{
	struct cpk_error err;
	struct stat sb;
	char path[256];

	memset(&sb, 0, sizeof(sb));
	sb.st_uid = geteuid();
	sb.st_mode = S_IFREG | 0644;
	CHECK_OK(cpk_check_owner("trusted key", "k.pub", &sb, CPK_OWNER_TRUST, &err));
	sb.st_uid = 0;
	CHECK_OK(cpk_check_owner("trusted key", "k.pub", &sb, CPK_OWNER_TRUST, &err));
	sb.st_uid = geteuid() == 65534 ? 65533 : 65534;
	CHECK_STATUS(cpk_check_owner("trusted key", "k.pub", &sb, CPK_OWNER_TRUST, &err),
	    CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "neither root nor you: another user could replace the keys you trust");
	sb.st_uid = geteuid();
	sb.st_mode = S_IFDIR | 01777;
	CHECK_STATUS(cpk_check_owner("key folder", "keys", &sb, CPK_OWNER_CARD_KEYS, &err),
	    CPK_ERR_PERMISSION);
	CHECK_STR(err.msg, "key folder 'keys' has mode 1777: others may read or replace your card "
	    "keys; run: chmod go-w 'keys'");
	sb.st_mode = S_IFREG | 0620;
	CHECK_STATUS(cpk_check_owner("signing key", "s.key", &sb, CPK_OWNER_SIGNING_KEY, &err),
	    CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "others may read or replace your signing key");

	snprintf(path, sizeof(path), "%s/k.yaml", dir);
	CHECK(chmod(dir, 0770) == 0);
	CHECK_STATUS(cpk_check_parent_owner("key folder", path, CPK_OWNER_CARD_KEYS, &err),
	    CPK_ERR_PERMISSION);
	CHECK_MSG(&err, "' has mode 0770: others may read or replace your card keys");
	CHECK(chmod(dir, 0700) == 0);
	CHECK_OK(cpk_check_parent_owner("key folder", path, CPK_OWNER_CARD_KEYS, &err));
}

/*
 * The two steps of cardc batch: a temporary file written and left open,
 * then synced and renamed; the name only ever shows the whole file, and
 * every failure removes the temporary file and says what failed.
 */
static void
test_two_steps(const char *dir)
{
	char path[256], other[256], tmp[512], buf[16];
	struct cpk_error err;
	struct stat sb;
	size_t before = entries(dir);
	FILE *f;
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/two.bin", dir);
	CHECK_OK(cpk_file_write_temp(path, (const uint8_t *)"bundle", 6, 0600, tmp, sizeof(tmp),
	    &fd, &err));
	CHECK(fd >= 0);
	CHECK(stat(path, &sb) != 0);	/* not under its name yet */
	CHECK(stat(tmp, &sb) == 0 && sb.st_size == 6 && (sb.st_mode & 0777) == 0600);
	CHECK_OK(cpk_file_sync_rename(fd, tmp, path, &err));
	CHECK(stat(tmp, &sb) != 0);
	f = fopen(path, "rb");
	n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f != NULL)
		fclose(f);
	CHECK_MEM(buf, n, "bundle", 6);
	CHECK(entries(dir) == before + 1);
	CHECK_OK(cpk_fsync_dir(dir, &err));

	/* The rename fails (its folder is gone): the temporary file is removed. */
	CHECK_OK(cpk_file_write_temp(path, (const uint8_t *)"x", 1, 0600, tmp, sizeof(tmp), &fd,
	    &err));
	snprintf(other, sizeof(other), "%s/missing/two.bin", dir);
	CHECK_STATUS(cpk_file_sync_rename(fd, tmp, other, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot rename the temporary file to");
	CHECK(stat(tmp, &sb) != 0);
	/* The sync fails (not an open file): the temporary file is removed. */
	CHECK_OK(cpk_file_write_temp(path, (const uint8_t *)"x", 1, 0600, tmp, sizeof(tmp), &fd,
	    &err));
	CHECK(close(fd) == 0);
	CHECK_STATUS(cpk_file_sync_rename(fd, tmp, path, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot sync");
	CHECK(stat(tmp, &sb) != 0);
	CHECK(entries(dir) == before + 1);
	/* No folder to write in, no path, no folder to sync. */
	CHECK_STATUS(cpk_file_write_temp(other, (const uint8_t *)"x", 1, 0600, tmp, sizeof(tmp),
	    &fd, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot create a temporary file like");
	CHECK(fd == -1);
	CHECK_STATUS(cpk_file_write_temp("", (const uint8_t *)"x", 1, 0600, tmp, sizeof(tmp), &fd,
	    &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "bad output path ''");
	snprintf(other, sizeof(other), "%s/missing", dir);
	CHECK_STATUS(cpk_fsync_dir(other, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot open directory");
	CHECK(unlink(path) == 0);
}

int
main(void)
{
	char dir[] = "/tmp/cpk-file-XXXXXX", path[256], buf[16];
	struct cpk_error err;
	struct stat sb;
	FILE *f;
	size_t n;

	if (mkdtemp(dir) == NULL)
		return 1;
	test_two_steps(dir);
	snprintf(path, sizeof(path), "%s/out.bin", dir);
	CHECK_OK(cpk_file_replace(path, (const uint8_t *)"first", 5, 0600, &err));
	CHECK_OK(cpk_file_replace(path, (const uint8_t *)"second", 6, 0640, &err));
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
	f = fopen(path, "rb");
	n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f != NULL)
		fclose(f);
	CHECK_MEM(buf, n, "second", 6);
	CHECK(entries(dir) == 1);	/* no temporary file left */

	snprintf(path, sizeof(path), "%s/missing/out.bin", dir);
	CHECK_STATUS(cpk_file_replace(path, (const uint8_t *)"x", 1, 0600, &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot create a temporary file like");
	CHECK_MSG(&err, "No such file or directory");
	CHECK_STATUS(cpk_file_replace("", (const uint8_t *)"x", 1, 0600, &err), CPK_ERR_ARG);
	CHECK_MSG(&err, "bad output path ''");
	snprintf(path, sizeof(path), "%s/", dir);
	CHECK_STATUS(cpk_file_replace(path, (const uint8_t *)"x", 1, 0600, &err), CPK_ERR_ARG);
	CHECK_STATUS(cpk_write_all(-1, (const uint8_t *)"x", 1, "fd -1", &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot write 'fd -1': Bad file descriptor");
	CHECK_OK(cpk_fsync_parent_dir("relative-name", &err));
	CHECK_STATUS(cpk_fsync_parent_dir("/nonexistent-cpk-dir/x", &err), CPK_ERR_IO);
	CHECK_MSG(&err, "cannot open directory '/nonexistent-cpk-dir'");
	CHECK(entries(dir) == 1);

	test_not_regular(dir);
	test_owner(dir);
	CHECK(entries(dir) == 1);

	snprintf(path, sizeof(path), "%s/out.bin", dir);
	unlink(path);
	rmdir(dir);
	return test_summary("file");
}
