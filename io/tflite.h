/* tflite.h — TFLite (.tflite, identifier "TFL3") and Samsung ONE circle
 * (.circle, identifier "CIR0") models: FlatBuffers read by hand over the
 * file's read-only mmap (Debian has no C FlatBuffers library).
 *
 * Reading (tflite_format_ops.load). Every uoffset, soffset, vtable, table
 * size, vector length, string and buffer range is checked against the file
 * size before it is used; a field must lie inside its table's inline size.
 * Vtables shared between tables are normal. The schema has a fixed depth
 * (Model → SubGraph → Tensor → QuantizationParameters, Model → Buffer,
 * SubGraph → Operator), so nothing recurses; vector elements visited, bias
 * values decoded and name bytes copied are counted against budgets
 * proportional to the file size, so vectors and strings shared between many
 * tables cannot make a small file cost quadratic time or memory.
 * Errors (QS_ERR_FORMAT) are one line: "<path>: offset N: <field>: <what>".
 *
 * Tensors: every subgraph's tensors that have data, in subgraph then tensor
 * order: Buffer.data, or (files past 2 GiB) Buffer.offset/size from the
 * start of the file when offset > 1. Tensors without data (activations) are
 * not listed. Names are the tensor's name ("tensor<j>" when empty); tensors
 * of subgraph k ≥ 1 are named "subgraph<k>:<name>". Shapes are numpy order.
 * TensorType → dtype: FLOAT32 f32, FLOAT16 f16, BFLOAT16 bf16, FLOAT64 f64,
 * INT8/16/32/64, UINT8/16/32/64, INT4 (two per byte, element 0 in the low
 * nibble, two's complement), BOOL; TFLite-new UINT4 (20) u4, FLOAT8_E4M3FN
 * (21), FLOAT8_E5M2 (22). Circle's negative types: −1 UINT4 u4, −2 GGML_Q4_0,
 * −3 GGML_Q4_1, −4 GGML_Q8_0 (model_tensor.block, blocks along the last
 * axis). STRING, COMPLEX64/128, RESOURCE, VARIANT, INT2, circle GGML_Q8_1
 * and unknown types are listed as auxiliary 1-D byte tensors (is_aux), as
 * the other readers list types they cannot decode. A buffer must hold
 * exactly the bytes its shape and type need.
 *
 * Quantization: an integer tensor (int4/8/16/32, uint4/8/16: codes whose
 * range fits int32) whose QuantizationParameters has scales gets
 * model_tensor.quant: one scale → per tensor; n > 1 scales → per axis
 * along quantized_dimension, whose size must be n; zero_point (int64 in the
 * file) of length n, or absent (all 0), each within int32. bits and
 * qmin/qmax are the storage type's. float_name is the output of a
 * DEQUANTIZE op reading the tensor when there is one, else the tensor's own
 * name (the converter keeps a weight's name when it quantizes it).
 * Quantization with `details` set (blockwise, custom, multi-axis) is not
 * supported: the tensor is listed as auxiliary, not analysed.
 *
 * Graph facts, from each subgraph's operators (builtin op =
 * max(builtin_code, deprecated_builtin_code); op_type is the builtin's
 * schema name, e.g. "CONV_2D", or the custom_code of a CUSTOM op). A
 * constant read through DEQUANTIZE (fp16 or int8 weights) gets the facts of
 * the op reading the DEQUANTIZE output:
 *   CONV_2D           filter [O,H,W,I] input 1: out_axis 0, K = H·W·I;
 *   DEPTHWISE_CONV_2D filter [1,H,W,O] input 1: out_axis 3, K = H·W;
 *   FULLY_CONNECTED   weights [O,I]    input 1: out_axis 0, K = I;
 *   TRANSPOSE_CONV    filter [O,H,W,I] input 1: out_axis 0, K = H·W·I;
 * role WEIGHT; the bias (input 2, TRANSPOSE_CONV input 3) with O elements
 * gets role BIAS and the weight gets its float values (facts.bias, from a
 * float or quantized int32 bias) and the int32 range; a per-tensor quantized
 * input activation (input 0, TRANSPOSE_CONV input 2) gives has_input, s_in
 * and its code range minus its zero point. Other constants get op_type of
 * the first op reading them.
 *
 * Writing (tflite_format_ops.write): requantize in place. The output is a
 * byte copy of the TFLite/circle source (refused for other sources and for
 * an output extension of the other kind) in which only tensor bytes and
 * quantization vectors are overwritten; the FlatBuffer is never rebuilt:
 *   - a float tensor (f32, f16, bf16, f64, float8) planned for quantize gets
 *     the dequantized values x̂ of its plan (model_tensor_quantize) in its own
 *     type (fake quantization: the model still runs in the TFLite runtime,
 *     with the quantization error in it); write_opts.fake_quant changes
 *     nothing here;
 *   - a quantized tensor planned for quantize gets the plan's codes in its
 *     buffer and the new scales/zero points in its existing scale and
 *     zero_point vectors. The plan must be a linear scheme whose code range
 *     fits the storage type and whose groups match the vectors: as many
 *     scales as the file has room for (per tensor: 1; per axis: along
 *     quantized_dimension), a zero_point vector of that length unless every
 *     new zero point is 0; otherwise a QS_ERR_USAGE error names the tensor
 *     and why. Its quantized int32 bias (see graph facts) is rewritten
 *     with scale s_in·s_w[c] and codes round(b/scale) (half to even,
 *     saturated) when the bias vectors fit; an integer bias that cannot follow
 *     (int64, or the input scale unknown) makes the write fail;
 *     a quantized bias's own plan is ignored (its scale is not free);
 *   - everything else keeps its bytes. Two planned tensors may not share
 *     bytes (a shared buffer or shared scale vector) unless they are float
 *     tensors with the same buffer, which is written once with the first
 *     tensor's plan. QuantizationParameters.min/max are left as they were
 *     (the runtime does not read them when scales are present).
 */
#ifndef QS_TFLITE_H
#define QS_TFLITE_H

#include "model.h"

extern const struct model_format_ops tflite_format_ops;

#endif
