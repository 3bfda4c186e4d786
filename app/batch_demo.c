#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/onnx.h"
#include "batch.h"

int batch_make_dirs(const char *dir, struct qs_error *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof buf)
		return qs_error_set(err, QS_ERR_USAGE, "%s: path too long", dir);
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return qs_error_set(err, QS_ERR_IO, "%s: cannot create the folder: %s", buf,
			                    strerror(errno));
		buf[i] = c;
	}
	return 0;
}

int batch_demo(const struct cli_args *a)
{
	const char *dir = a->npos ? a->pos[0] : ".";
	struct qs_error err = {0};

	if (batch_make_dirs(dir, &err) || onnx_demo_write(dir, &err))
		return batch_fail(&err, a->cmd);
	if (!a->quiet)
		fprintf(stderr, "qscope: wrote %s/demo_float.onnx and %s/demo_int8.onnx\n", dir,
		        dir);
	return EXIT_OK;
}
