/*
 * cpk unit test: durable file output (common/cpk_file.h): atomic replace
 * with the requested mode, nothing left behind on failure, and the error
 * messages.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

	snprintf(path, sizeof(path), "%s/out.bin", dir);
	unlink(path);
	rmdir(dir);
	return test_summary("file");
}
