/* npy.h — NumPy .npy arrays (format versions 1.0, 2.0, 3.0).
 *
 * Reading: npy_parse checks a complete .npy image held in memory (an mmap of
 * a file or an npz member) and describes its one array; the array's bytes are
 * the image's bytes from data_offset on, in the byte order and memory order
 * the header gives (big_endian, fortran_order). Supported dtypes: f2 f4 f8 i1
 * u1 i2 u2 i4 u4 i8 u8 b1 with byte order '<', '>', '|' or '='. Object arrays
 * ('|O', pickles), structured dtypes (a list descr), strings, complex, dates
 * and long doubles are refused with QS_ERR_UNSUPPORTED; malformed headers,
 * bad magic, truncation, a size that does not match the shape, and shapes
 * whose element or byte count overflows are QS_ERR_FORMAT. Header keys may
 * come in any order; unknown or repeated keys are errors. Headers longer than
 * NPY_MAX_HEADER bytes are refused before they are parsed.
 *
 * The .npy model (npy_format_ops) has one tensor named after the file without
 * its folder and ".npy"; its data borrows from a private read-only mmap of
 * the file (madvise SEQUENTIAL), unmapped by model_free.
 *
 * Writing: npy_format_ops.write writes a model with exactly one tensor; a
 * quantized plan writes the dequantized float32 values (a .npy holds one
 * array, so codes and scales need an .npz, see npz.h). Arrays are written as
 * version 1.0 (2.0 when the header needs more than 65535 bytes), data aligned
 * to 64 bytes, little-endian C order.
 */
#ifndef QS_NPY_H
#define QS_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

#define NPY_MAX_HEADER (1u << 20)

struct npy_array {
	int version; /* 1, 2 or 3 */
	enum dtype dtype;
	bool big_endian, fortran_order;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	uint64_t nelem;
	size_t data_offset; /* from the start of the image */
	size_t nbytes;      /* nelem × item size */
};

/* Parse and check the .npy image buf[0..len). label names the file in
 * error messages ("w.npy", "m.npz:w.npy"). The data must end exactly at len. */
int npy_parse(const uint8_t *buf, size_t len, const char *label, struct npy_array *out,
              struct qs_error *err);

/* Describe the parsed array a of the image img in t (dtype, shape, orders,
 * data pointing into img); the name and facts other than out_axis = −1 are
 * the caller's. */
void npy_tensor_fill(struct model_tensor *t, const struct npy_array *a, const uint8_t *img);

/* Can a .npy file hold this element type? (f16/f32/f64, 8–64-bit ints, bool) */
bool npy_dtype_supported(enum dtype t);

/* Write the header for an array (magic, version, length, dict, padding) into
 * buf; returns its length (a multiple of 64), or 0 when cap is too small or
 * the dtype has no .npy descr. */
size_t npy_header_format(char *buf, size_t cap, enum dtype t, bool big_endian, bool fortran_order,
                         const int64_t *shape, int ndim);

/* One array to write (npy/npz writers): name without ".npy", element type,
 * shape, and nbytes of data in the given byte/memory order. */
struct npy_out {
	char *name; /* owned */
	enum dtype dtype;
	bool big_endian, fortran_order;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	const void *data; /* borrowed from the source model or == owned */
	void *owned;
	size_t nbytes;
};

/* The arrays written for tensor i of src under plan (NULL: keep): a kept
 * tensor whose dtype .npy can hold is copied byte for byte (same descr and
 * order); other kept tensors (bf16, fp8, 4-bit, ggml blocks, quantized) are
 * decoded to float32. A quantized tensor T is written as T = x̂ (float32) and,
 * unless fake_quant or its qtype is a block/float type, the npz quantization
 * arrays of npz.h (T.q, T.scale, T.zero_point, T.qinfo). Returns the count in
 * *n and an array the caller frees with npy_outs_free. */
int npy_outputs_for_tensor(const struct model *src, size_t i, const struct tensor_plan *plan,
                           bool fake_quant, struct npy_out **out, size_t *n, struct qs_error *err);
void npy_outs_free(struct npy_out *o, size_t n);

/* Write one array as a complete .npy image to f. */
int npy_write_array(FILE *f, const struct npy_out *a, const char *label, struct qs_error *err);

extern const struct model_format_ops npy_format_ops;

#endif
