/* fuzz_tflite.c — libFuzzer harness: the input is a TFLite or circle model
 * (the identifier at bytes 4..7 picks the schema), written to x.tflite and
 * loaded with model_load (see fuzz_common.h). A model that loads is then
 * written back in place (io/tflite.c's requantizing writer) with every
 * analysable tensor planned for 8-bit per-channel quantization: the write
 * must succeed or fail with a one-line message, never touch memory outside
 * the model. Seeds (corpus/tflite/) are small models built with flatc from
 * tests/io/tflite_subset.fbs: float, int8 per-axis with DEQUANTIZE,
 * int4, Buffer.offset/size, circle GGML blocks. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void write_back(const char *path, bool circle)
{
	struct model *m = NULL;
	struct qs_error err = {0};

	if (model_load(path, &m, &err))
		return;
	struct tensor_plan *plan = calloc(m->ntensors ? m->ntensors : 1, sizeof *plan);
	if (plan) {
		for (size_t i = 0; i < m->ntensors; i++) {
			plan[i].quantize = model_tensor_analysable(&m->tensors[i]) &&
			                   m->tensors[i].nelem <= (1u << 16);
			plan[i].spec.scheme = scheme_default();
			plan[i].spec.method.kind = METHOD_MINMAX;
		}
		struct write_opts o = {.plan = plan};
		char out[4096];
		snprintf(out, sizeof out, "%s/out.%s", fuzz_dir(), circle ? "circle" : "tflite");
		int rc = model_write(m, &o, out, &err);
		if (rc && (!err.msg[0] || strchr(err.msg, '\n')))
			fuzz_fail("model_write failed (%d) without a one-line message", rc);
	}
	free(plan);
	model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *path;

	fuzz_clear();
	path = fuzz_write("x.tflite", data, len);
	fuzz_model(path);
	write_back(path, len >= 8 && !memcmp(data + 4, "CIR0", 4));
	return 0;
}
