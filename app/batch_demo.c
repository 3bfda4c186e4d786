#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "../io/onnx.h"
#include "batch.h"

int batch_demo(const struct cli_args *a)
{
	const char *dir = a->npos ? a->pos[0] : ".";
	struct qs_error err = {0};

	if (mkdir(dir, 0777) && errno != EEXIST) {
		qs_error_set(&err, QS_ERR_IO, "%s: cannot create the folder: %s", dir,
		             strerror(errno));
		return batch_fail(&err, a->cmd);
	}
	if (onnx_demo_write(dir, &err))
		return batch_fail(&err, a->cmd);
	if (!a->quiet)
		fprintf(stderr, "qscope: wrote %s/demo_float.onnx and %s/demo_int8.onnx\n", dir,
		        dir);
	return EXIT_OK;
}
