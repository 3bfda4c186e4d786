/* fuzz_safetensors_index.c — libFuzzer harness for sharded safetensors: the
 * input is the index JSON, FUZZ_SEP, shard 1, FUZZ_SEP, shard 2, written as
 * model.safetensors.index.json and model-0000k-of-00002.safetensors. The
 * model is loaded through the index and again through shard 1 (which finds
 * its sibling by name). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *part[3];
	size_t plen[3];
	size_t n = fuzz_split(data, len, part, plen, 3);
	const char *shard1 = NULL;

	fuzz_clear();
	if (n > 1)
		shard1 = fuzz_write("model-00001-of-00002.safetensors", part[1], plen[1]);
	if (n > 2)
		fuzz_write("model-00002-of-00002.safetensors", part[2], plen[2]);
	fuzz_model(fuzz_write("model.safetensors.index.json", part[0], plen[0]));
	if (shard1)
		fuzz_model(shard1);
	return 0;
}
