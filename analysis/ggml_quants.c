#include "ggml_quants.h"

/* The float types GGUF stores directly; block types are added beside them. */
static const struct qtype ggml_table[] = {
        {.name = "F32",
         .family = QTYPE_FLOAT,
         .bits = 32,
         .is_signed = true,
         .storage = DTYPE_F32,
         .ggml_type = 0,
         .block_elems = 1,
         .block_bytes = 4},
        {.name = "F16",
         .family = QTYPE_FLOAT,
         .bits = 16,
         .is_signed = true,
         .storage = DTYPE_F16,
         .ggml_type = 1,
         .block_elems = 1,
         .block_bytes = 2},
        {.name = "BF16",
         .family = QTYPE_FLOAT,
         .bits = 16,
         .is_signed = true,
         .storage = DTYPE_BF16,
         .ggml_type = 30,
         .block_elems = 1,
         .block_bytes = 2},
};

const struct qtype *ggml_qtypes(size_t *n)
{
	*n = sizeof ggml_table / sizeof ggml_table[0];
	return ggml_table;
}

const struct qtype *ggml_qtype_by_id(int ggml_type)
{
	size_t n;
	const struct qtype *t = ggml_qtypes(&n);

	for (size_t i = 0; i < n; i++)
		if (t[i].ggml_type == ggml_type)
			return &t[i];
	return NULL;
}
