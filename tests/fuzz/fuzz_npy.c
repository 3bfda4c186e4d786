/* fuzz_npy.c — libFuzzer harness: the input is NumPy .npy,
 * written to x.npy and loaded with model_load (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_clear();
	fuzz_model(fuzz_write("x.npy", data, len));
	return 0;
}
