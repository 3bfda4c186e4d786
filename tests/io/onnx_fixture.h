/* onnx_fixture.h — helpers shared by test_onnx_read.c and test_onnx_write.c
 * (header-only: each tests/io/test_*.c is its own program). Every helper
 * fails the running test instead of returning an error. */
#ifndef QS_ONNX_FIXTURE_H
#define QS_ONNX_FIXTURE_H

#include <stdlib.h>

#include "io_fixture.h"
#include "model.h"
#include "onnx_impl.h"
#include "qs_test.h"

/* An empty model with graph "g", the given IR version and default-domain opset. */
static inline Onnx__ModelProto *model_new(int64_t ir_version, int64_t opset)
{
	Onnx__ModelProto *mp = onnx_xmalloc(sizeof *mp);
	onnx__model_proto__init(mp);
	mp->has_ir_version = 1;
	mp->ir_version = ir_version;
	onnx_pb_set_opset(mp, "", opset);
	mp->graph = onnx_xmalloc(sizeof *mp->graph);
	onnx__graph_proto__init(mp->graph);
	mp->graph->name = onnx_strdup("g");
	return mp;
}

/* Append a node with one output to g. */
static inline Onnx__NodeProto *node(Onnx__GraphProto *g, const char *op, const char *const *in,
                                    size_t nin, const char *out)
{
	Onnx__NodeProto *n = onnx_pb_node(op, out, in, nin, &out, 1);
	onnx_pb_graph_insert_node(g, g->n_node, n);
	return n;
}

/* Serialise mp to path and free it. */
static inline void save(Onnx__ModelProto *mp, const char *path)
{
	size_t n = onnx__model_proto__get_packed_size(mp);
	uint8_t *b = malloc(n);
	onnx__model_proto__pack(mp, b);
	qs_write_file(path, b, n);
	free(b);
	onnx__model_proto__free_unpacked(mp, NULL);
}

#endif
