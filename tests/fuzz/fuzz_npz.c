/* fuzz_npz.c — libFuzzer harness: the input is NumPy .npz (ZIP of .npy members, stored or deflated),
 * written to x.npz and loaded with model_load (see fuzz_common.h). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_clear();
	fuzz_model(fuzz_write("x.npz", data, len));
	return 0;
}
