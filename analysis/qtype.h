/* qtype.h — storage types a tensor can be quantized to, named as their
 * formats name them (ONNX "int8", "uint4"; GGUF "Q8_0", "Q4_K"; ...).
 *
 * One table, like ggml's type traits. QTYPE_LINEAR entries are linear schemes
 * (quant.h) that fix bits and signedness; QTYPE_BLOCK entries are ggml block
 * formats with their own reference quantizer and dequantizer; QTYPE_FLOAT
 * entries (F16, BF16, ...) are plain casts.
 */
#ifndef QS_QTYPE_H
#define QS_QTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

struct method;

enum qtype_family {
	QTYPE_LINEAR,
	QTYPE_BLOCK,
	QTYPE_FLOAT
};

struct qtype {
	const char *name; /* as the format names it */
	enum qtype_family family;
	int bits; /* code bits (block types: bits of the element code) */
	bool is_signed;
	enum dtype storage; /* LINEAR/FLOAT: the element type written */
	/* QTYPE_BLOCK only: */
	int ggml_type;
	uint32_t block_elems, block_bytes;
	/* The llama.cpp reference quantizer: n a multiple of block_elems. */
	void (*quantize_ref)(const float *x, void *blocks, int64_t n);
	/* Quantize with a range method (better scales inside the same format);
	 * NULL → only quantize_ref. */
	void (*quantize_method)(const float *x, void *blocks, int64_t n, const struct method *m);
	void (*dequantize)(const void *blocks, float *y, int64_t n);
	/* Integer code of each element (for levels/entropy) and the scale of
	 * each block (for scale_min/max); may be NULL. */
	void (*codes)(const void *blocks, int32_t *q, int64_t n);
	void (*block_scales)(const void *blocks, float *scale, int64_t nblocks);
};

/* Order of qtype_at: the ONNX names first — int8, uint8, int16, uint16, int4,
 * uint4 (QTYPE_LINEAR) and float8e4m3fn, float8e5m2 (QTYPE_FLOAT, cast with
 * saturation) — then ggml_qtypes() (F32, F16, BF16, Q8_0, Q4_0, ...).
 * Entries are static: pointers stay valid for the program's life. */
const struct qtype *qtype_find(const char *name); /* case-insensitive; NULL */
const struct qtype *qtype_at(size_t i);           /* NULL past the end */
size_t qtype_count(void);

#endif
