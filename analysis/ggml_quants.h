/* ggml_quants.h — ggml block quantization formats as engine qtypes (one
 * table indexed like ggml's type traits): block layouts of formats.md §3.3,
 * dequantizers for every readable type, and reference quantizers equal to
 * llama.cpp's quantize_row_*_ref for the writable ones.
 *
 * ggml_type ids are GGUF's (0 F32, 1 F16, 2 Q4_0, ... 30 BF16).
 */
#ifndef QS_GGML_QUANTS_H
#define QS_GGML_QUANTS_H

#include <stddef.h>

#include "qtype.h"

/* The table of ggml-backed qtypes (float and block types); *n gets its size. */
const struct qtype *ggml_qtypes(size_t *n);

/* The qtype of a ggml_type id, or NULL when qscope cannot read it. */
const struct qtype *ggml_qtype_by_id(int ggml_type);

#endif
