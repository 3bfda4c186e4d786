/* onnx.h — ONNX models: reader, QDQ writer and the bundled demo.
 *
 * Reading (onnx_format_ops.load) unpacks the ModelProto with the protobuf-c
 * code generated from Debian's onnx.proto and lists as model tensors:
 * initializers, the `value` tensor of Constant nodes, and both of these in
 * the subgraphs of If/Loop/Scan (nesting depth ≤ ONNX_MAX_DEPTH). Tensor
 * bytes are borrowed from the unpacked message (raw_data), from an mmap of
 * the external data file, or from a buffer converted from the typed fields
 * (float_data, int32_data, ...) into the raw little-endian layout; all stay
 * valid until model_free.
 *
 * Quantized graphs fill model_tensor.quant from DequantizeLinear (axis
 * default 1, block_size), QLinearConv, QLinearMatMul, ConvInteger and
 * MatMulInteger (weight scale found after the Cast → Mul of the
 * DynamicQuantizeLinear pattern) and ONNX Runtime's naming (W_quantized,
 * W_scale, W_zero_point); scale and zero-point tensors are marked is_aux,
 * quant.float_name names the float tensor the codes approximate.
 * graph_facts: role, consumer op, output-channel axis (Conv 0, ConvTranspose
 * 1, MatMul 1, Gemm 1 or 0 with transB, LSTM/GRU/RNN 1), reduction length K,
 * the input activation's scale and code range when a DequantizeLinear (or a
 * QLinear op) gives them, and the consumer's float bias.
 *
 * A float weight quantized at run time (QuantizeLinear → DequantizeLinear,
 * as fake-quant exports write it) is listed once more as a virtual tensor
 * `<w>_quantized` holding the codes the QuantizeLinear produces (owned by the
 * model, no TensorProto behind it); w itself is then marked is_aux.
 *
 * Writing (onnx_format_ops.write: QDQ, fake-quant, --like, opset raise) is
 * specified in the contract at the top of io/onnx_write.c.
 */
#ifndef QS_ONNX_H
#define QS_ONNX_H

#include <stdint.h>

#include "model.h"

#define ONNX_MAX_DEPTH 64

extern const struct model_format_ops onnx_format_ops;

/* Write the demo pair into dir: demo_float.onnx (a small CNN-like float
 * model with seeded Gaussian/Laplace weights, an outlier channel, a
 * depthwise layer with a channel of tiny weights, biases, a final Gemm) and
 * demo_int8.onnx (its int8 per-channel minmax QDQ version, written by the
 * ONNX writer). The bytes depend only on qscope's code (fixed seed). */
int onnx_demo_write(const char *dir, struct qs_error *err);

/* A standalone serialized TensorProto (the .pb files of ONNX's backend test
 * data), decoded: dtype, shape and the elements converted to double
 * (integers exact). Free with onnx_tensor_file_free. */
struct onnx_tensor_file {
	char *name;
	enum dtype dtype;
	int ndim;
	int64_t shape[QS_MAX_DIMS];
	uint64_t nelem;
	double *v;
};
int onnx_tensor_file_load(const char *path, struct onnx_tensor_file *out, struct qs_error *err);
void onnx_tensor_file_free(struct onnx_tensor_file *t);

/* Map ONNX TensorProto.DataType to the engine's dtype; −1 when the engine
 * has no such type (strings, complex, FNUZ fp8, 2-bit types). */
int onnx_dtype_to_qs(int32_t onnx_type);
/* And back (always defined). */
int32_t onnx_dtype_from_qs(enum dtype t);

#endif
