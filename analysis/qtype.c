#include "qtype.h"

#include <strings.h>

#include "ggml_quants.h"

/* The linear and float storage types as ONNX names them; the ggml table
 * (ggml_quants.c) follows them in qtype_at order. */
static const struct qtype onnx_table[] = {
        {.name = "int8", .family = QTYPE_LINEAR, .bits = 8, .is_signed = true, .storage = DTYPE_I8},
        {.name = "uint8",
         .family = QTYPE_LINEAR,
         .bits = 8,
         .is_signed = false,
         .storage = DTYPE_U8},
        {.name = "int16",
         .family = QTYPE_LINEAR,
         .bits = 16,
         .is_signed = true,
         .storage = DTYPE_I16},
        {.name = "uint16",
         .family = QTYPE_LINEAR,
         .bits = 16,
         .is_signed = false,
         .storage = DTYPE_U16},
        {.name = "int4", .family = QTYPE_LINEAR, .bits = 4, .is_signed = true, .storage = DTYPE_I4},
        {.name = "uint4",
         .family = QTYPE_LINEAR,
         .bits = 4,
         .is_signed = false,
         .storage = DTYPE_U4},
        {.name = "float8e4m3fn",
         .family = QTYPE_FLOAT,
         .bits = 8,
         .is_signed = true,
         .storage = DTYPE_F8E4M3FN},
        {.name = "float8e5m2",
         .family = QTYPE_FLOAT,
         .bits = 8,
         .is_signed = true,
         .storage = DTYPE_F8E5M2},
};

#define ONNX_COUNT (sizeof onnx_table / sizeof onnx_table[0])

size_t qtype_count(void)
{
	size_t n;

	ggml_qtypes(&n);
	return ONNX_COUNT + n;
}

const struct qtype *qtype_at(size_t i)
{
	size_t n;
	const struct qtype *g = ggml_qtypes(&n);

	if (i < ONNX_COUNT)
		return &onnx_table[i];
	i -= ONNX_COUNT;
	return i < n ? &g[i] : NULL;
}

const struct qtype *qtype_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0, n = qtype_count(); i < n; i++) {
		const struct qtype *t = qtype_at(i);
		if (strcasecmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}
