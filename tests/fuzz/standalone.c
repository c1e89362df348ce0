/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cpk fuzz: a main() for the fuzz targets without libFuzzer. It replays
 * files through LLVMFuzzerTestOneInput, so every target also builds with
 * gcc and its committed corpus runs as an ordinary test under ASan+UBSan.
 *
 * usage: fuzz_<name> PATH...
 *
 * A PATH is a file or a directory; a directory's regular files (names not
 * starting with '.', in name order, not recursing) are replayed. The empty
 * input runs first, as with libFuzzer. Each input is copied into a heap
 * block of exactly its size so that an over-read is caught. Exit status: 0
 * when every input ran, 1 when a path cannot be read or a directory holds
 * no input; a crash or sanitizer report ends the run as it would under
 * libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Corpus files are small; refuse anything absurd rather than exhaust memory. */
#define REPLAY_MAX ((size_t)64 * 1024 * 1024)

static size_t replayed;

/* Run one input from a heap block of exactly n bytes (1 when n is 0). */
static int
replay_bytes(const uint8_t *p, size_t n)
{
	uint8_t *copy;

	copy = malloc(n > 0 ? n : 1);
	if (copy == NULL) {
		fprintf(stderr, "fuzz replay: out of memory (%zu bytes)\n", n);
		return -1;
	}
	if (n > 0)
		memcpy(copy, p, n);
	else
		copy[0] = 0;	/* never read by a correct target; defined all the same */
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	replayed++;
	return 0;
}

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;
	int ret = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *nb;

			if (cap >= REPLAY_MAX) {
				fprintf(stderr, "fuzz replay: %s: larger than %zu bytes\n", path,
				    REPLAY_MAX);
				goto out;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "fuzz replay: out of memory (%zu bytes)\n", cap);
				goto out;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "fuzz replay: %s: read error\n", path);
		goto out;
	}
	/* Name the input first: a crash report then says which one it was. */
	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);
	ret = replay_bytes(buf, len);
out:
	free(buf);
	fclose(f);
	return ret;
}

static int
skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int
replay_dir(const char *dir)
{
	struct dirent **names;
	struct stat st;
	char path[4096];
	int i, n, files = 0, ret = 0;

	if ((n = scandir(dir, &names, skip_dot, alphasort)) < 0) {
		fprintf(stderr, "fuzz replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ret == 0) {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name) >= sizeof(path)) {
				fprintf(stderr, "fuzz replay: %s/%s: path too long\n", dir,
				    names[i]->d_name);
				ret = -1;
			} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				files++;
				ret = replay_file(path);
			}
		}
		free(names[i]);
	}
	free(names);
	if (ret == 0 && files == 0) {
		fprintf(stderr, "fuzz replay: %s: no input files\n", dir);
		ret = -1;
	}
	return ret;
}

int
main(int argc, char **argv)
{
	static const uint8_t empty[1];
	struct stat st;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
		return 2;
	}
	if (replay_bytes(empty, 0) != 0)
		return 1;
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "fuzz replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if ((S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i])) != 0)
			return 1;
	}
	printf("fuzz replay: %zu inputs, no crash\n", replayed);
	return 0;
}
