#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void atomic_reset(struct atomic_file *af)
{
	free(af->path);
	free(af->tmp);
	*af = (struct atomic_file){0};
}

static int open_in_place(const char *path, struct atomic_file *af, struct qs_error *err)
{
	af->in_place = 1;
	if (strcmp(path, "-") == 0) {
		af->f = stdout;
		return 0;
	}
	af->f = fopen(path, "wb");
	if (!af->f) {
		int e = errno;
		atomic_reset(af);
		return qs_error_set(err, QS_ERR_IO, "%s: cannot open: %s", path, strerror(e));
	}
	return 0;
}

/* The temporary is ".NAME.XXXXXX" in the target's folder. */
static char *temp_name(const char *path)
{
	char *dcopy = strdup(path), *bcopy = strdup(path), *tmp = NULL;

	if (dcopy && bcopy) {
		const char *dir = dirname(dcopy), *base = basename(bcopy);
		size_t len = strlen(dir) + strlen(base) + 16;
		if ((tmp = malloc(len)))
			snprintf(tmp, len, "%s/.%s.XXXXXX", dir, base);
	}
	free(dcopy);
	free(bcopy);
	return tmp;
}

int atomic_open(struct atomic_file *af, const char *path, struct qs_error *err)
{
	struct stat st;
	mode_t um;
	int fd;

	*af = (struct atomic_file){0};
	if (!(af->path = strdup(path)))
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	if (strcmp(path, "-") == 0 ||
	    (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
		return open_in_place(path, af, err);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		atomic_reset(af);
		return qs_error_set(err, QS_ERR_USAGE, "%s: is a directory", path);
	}
	if (!(af->tmp = temp_name(path))) {
		atomic_reset(af);
		return qs_error_set(err, QS_ERR_NOMEM, "%s: out of memory", path);
	}
	if ((fd = mkstemp(af->tmp)) < 0) {
		int e = errno;
		atomic_reset(af);
		return qs_error_set(err, QS_ERR_IO, "%s: cannot create a temporary file: %s", path,
		                    strerror(e));
	}
	/* mkstemp makes the file 0600; give the output the usual umask mode. */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) != 0 || !(af->f = fdopen(fd, "wb"))) {
		int e = errno;
		close(fd);
		unlink(af->tmp);
		atomic_reset(af);
		return qs_error_set(err, QS_ERR_IO, "%s: %s", path, strerror(e));
	}
	return 0;
}

int atomic_commit(struct atomic_file *af, struct qs_error *err)
{
	int bad, e;

	if (!af->f)
		return qs_error_set(err, QS_ERR_IO, "output file is not open");
	bad = fflush(af->f) != 0 || ferror(af->f);
	if (!bad && !af->in_place)
		bad = fsync(fileno(af->f)) != 0;
	e = errno;
	if (af->f != stdout && fclose(af->f) != 0 && !bad)
		bad = 1, e = errno;
	af->f = NULL;
	if (!bad && af->tmp && rename(af->tmp, af->path) != 0)
		bad = 1, e = errno;
	if (bad) {
		qs_error_set(err, QS_ERR_IO, "%s: write failed: %s", af->path, strerror(e));
		atomic_abort(af);
		return QS_ERR_IO;
	}
	atomic_reset(af);
	return 0;
}

void atomic_abort(struct atomic_file *af)
{
	if (!af)
		return;
	if (af->f && af->f != stdout)
		fclose(af->f);
	if (af->tmp)
		unlink(af->tmp);
	atomic_reset(af);
}

int atomic_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
