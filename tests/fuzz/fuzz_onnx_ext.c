/* fuzz_onnx_ext.c — libFuzzer harness for ONNX external data: the input is
 * a model, FUZZ_SEP, then the bytes of the side file w.bin the model's
 * tensors point at (data_location EXTERNAL, location "w.bin", offset,
 * length). A second FUZZ_SEP gives a second side file, sub/v.bin, so seeds
 * can reach folder-relative locations. */
#include "fuzz_common.h"

#include <stdio.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *part[3];
	size_t plen[3];
	size_t n = fuzz_split(data, len, part, plen, 3);
	char sub[4096];

	fuzz_clear();
	snprintf(sub, sizeof sub, "%s/sub", fuzz_dir());
	mkdir(sub, 0700);
	if (n > 1)
		fuzz_write("w.bin", part[1], plen[1]);
	if (n > 2)
		fuzz_write("sub/v.bin", part[2], plen[2]);
	fuzz_model(fuzz_write("x.onnx", part[0], plen[0]));
	return 0;
}
