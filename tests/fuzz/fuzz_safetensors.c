/* fuzz_safetensors.c — libFuzzer harness: the input is a single safetensors file,
 * written to x.safetensors and loaded with model_load (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_clear();
	fuzz_model(fuzz_write("x.safetensors", data, len));
	return 0;
}
