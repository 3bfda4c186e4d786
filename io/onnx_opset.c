/* onnx_opset.c — raising a model's default-domain opset so that a
 * DequantizeLinear of a newer opset can be added, converting the ops whose
 * attributes became inputs on the way. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_impl.h"

static int64_t ir_for_opset(int64_t opset)
{
	static const struct {
		int64_t opset, ir;
	} tab[] = {{23, 11}, {21, 10}, {19, 9}, {15, 8}, {12, 7}, {11, 6}, {10, 5}, {9, 4}, {1, 3}};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (opset >= tab[i].opset)
			return tab[i].ir;
	return 3;
}

enum conv_kind {
	CONV_INTS,    /* int64 list attribute → 1-D int64 input */
	CONV_INT,     /* int64 attribute → [1] int64 input */
	CONV_FLOAT,   /* float attribute → scalar float input */
	CONV_DROP,    /* attribute no longer exists and does not matter for inference */
	CONV_SOFTMAX, /* meaning changed: only equal when the axis is the last one */
	CONV_REFUSE,  /* removed or changed beyond a mechanical conversion */
};

struct conv {
	const char *op;
	int64_t since;
	enum conv_kind kind;
	const char *attr;
	size_t input; /* where the new input goes */
	double dflt;  /* CONV_FLOAT default when absent but a later input is set */
};

static const struct conv conv_tab[] = {
        {"Slice", 10, CONV_INTS, "starts", 1, 0},
        {"Slice", 10, CONV_INTS, "ends", 2, 0},
        {"Slice", 10, CONV_INTS, "axes", 3, 0},
        {"TopK", 10, CONV_INT, "k", 1, 0},
        {"Upsample", 10, CONV_REFUSE, NULL, 0, 0},
        {"Resize", 11, CONV_REFUSE, NULL, 0, 0},
        {"Scatter", 11, CONV_REFUSE, NULL, 0, 0},
        {"Clip", 11, CONV_FLOAT, "min", 1, -FLT_MAX},
        {"Clip", 11, CONV_FLOAT, "max", 2, FLT_MAX},
        {"Pad", 11, CONV_INTS, "pads", 1, 0},
        {"Pad", 11, CONV_FLOAT, "value", 2, 0},
        {"Dropout", 12, CONV_DROP, "ratio", 0, 0},
        {"Squeeze", 13, CONV_INTS, "axes", 1, 0},
        {"Unsqueeze", 13, CONV_INTS, "axes", 1, 0},
        {"Split", 13, CONV_INTS, "split", 1, 0},
        {"ReduceSum", 13, CONV_INTS, "axes", 1, 0},
        {"Softmax", 13, CONV_SOFTMAX, NULL, 0, 0},
        {"LogSoftmax", 13, CONV_SOFTMAX, NULL, 0, 0},
        {"Hardmax", 13, CONV_SOFTMAX, NULL, 0, 0},
        {"ReduceMean", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceMax", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceMin", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceProd", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceL1", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceL2", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceLogSum", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceLogSumExp", 18, CONV_INTS, "axes", 1, 0},
        {"ReduceSumSquare", 18, CONV_INTS, "axes", 1, 0},
        {"GroupNormalization", 21, CONV_REFUSE, NULL, 0, 0},
};

struct up {
	Onnx__ModelProto *mp;
	int64_t from, to;
	struct qs_error *err;
	int rc;
	unsigned serial;
};

static void set_input(Onnx__NodeProto *n, size_t idx, const char *name)
{
	while (n->n_input <= idx)
		onnx_pb_node_add_input(n, "");
	free(n->input[idx]);
	n->input[idx] = onnx_strdup(name);
}

static int value_rank(Onnx__GraphProto *g, const char *name)
{
	Onnx__ValueInfoProto **lists[] = {g->value_info, g->input, g->output};
	size_t counts[] = {g->n_value_info, g->n_input, g->n_output};
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < counts[l]; i++) {
			Onnx__ValueInfoProto *v = lists[l][i];
			if (!v->name || strcmp(v->name, name) || !v->type ||
			    v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
			    !v->type->tensor_type->shape)
				continue;
			return (int)v->type->tensor_type->shape->n_dim;
		}
	return -1;
}

static bool softmax_same(struct up *u, Onnx__GraphProto *g, Onnx__NodeProto *n)
{
	int64_t axis = onnx_attr_int(n, "axis", 1);
	int rank = n->n_input ? value_rank(g, n->input[0]) : -1;
	if (rank < 0 && n->n_output)
		rank = value_rank(g, n->output[0]);
	if (rank < 0)
		rank = n->n_output ? value_rank(u->mp->graph, n->output[0]) : -1;
	return axis == -1 || (rank > 0 && axis == rank - 1);
}

static void add_const(struct up *u, Onnx__GraphProto *g, Onnx__NodeProto *n, const struct conv *c,
                      const Onnx__AttributeProto *a)
{
	char name[256];
	snprintf(name, sizeof name, "%s_qs_opset_%s_%u",
	         n->n_output && n->output[0] ? n->output[0] : "node", c->attr, u->serial++);
	Onnx__TensorProto *t;
	if (c->kind == CONV_INTS) {
		int64_t d = (int64_t)a->n_ints;
		t = onnx_pb_tensor(name, 7, &d, 1, a->ints, a->n_ints * sizeof(int64_t));
	} else if (c->kind == CONV_INT) {
		int64_t d = 1;
		t = onnx_pb_tensor(name, 7, &d, 1, &a->i, sizeof a->i);
	} else {
		float v = a ? a->f : (float)c->dflt;
		t = onnx_pb_tensor(name, 1, NULL, 0, &v, sizeof v);
	}
	onnx_pb_graph_add_init(g, t);
	set_input(n, c->input, name);
}

static void upgrade_node(Onnx__GraphProto *g, Onnx__NodeProto *n, void *ctx)
{
	struct up *u = ctx;
	if (u->rc || (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")))
		return;
	for (size_t i = 0; i < sizeof conv_tab / sizeof conv_tab[0]; i++) {
		const struct conv *c = &conv_tab[i];
		if (!n->op_type || strcmp(n->op_type, c->op) || u->from >= c->since ||
		    u->to < c->since)
			continue;
		if (c->kind == CONV_REFUSE || (c->kind == CONV_SOFTMAX && !softmax_same(u, g, n))) {
			u->rc = qs_error_set(u->err, QS_ERR_UNSUPPORTED,
			                     "raising opset %lld to %lld would change node '%s' "
			                     "(%s, changed in opset %lld)",
			                     (long long)u->from, (long long)u->to,
			                     n->name ? n->name : "", n->op_type,
			                     (long long)c->since);
			return;
		}
		if (c->kind == CONV_SOFTMAX)
			continue;
		const Onnx__AttributeProto *a = onnx_attr(n, c->attr);
		if (c->kind == CONV_DROP) {
			onnx_pb_node_remove_attr(n, c->attr);
			continue;
		}
		bool later = false; /* is a later input of this op set? */
		for (size_t k = i + 1; k < sizeof conv_tab / sizeof conv_tab[0]; k++)
			if (!strcmp(conv_tab[k].op, c->op) && conv_tab[k].since == c->since &&
			    onnx_attr(n, conv_tab[k].attr))
				later = true;
		if (!a && !(c->kind == CONV_FLOAT && later))
			continue;
		add_const(u, g, n, c, a);
		if (a)
			onnx_pb_node_remove_attr(n, c->attr);
	}
}

int onnx_opset_raise(Onnx__ModelProto *mp, int64_t target, struct qs_error *err)
{
	int64_t from = onnx_default_opset(mp);
	if (from >= target)
		return 0;
	struct up u = {.mp = mp, .from = from, .to = target, .err = err};
	onnx_walk_nodes(mp->graph, 0, upgrade_node, &u);
	if (u.rc)
		return u.rc;
	onnx_pb_set_opset(mp, "", target);
	int64_t ir = ir_for_opset(target);
	if (!mp->has_ir_version || mp->ir_version < ir) {
		mp->has_ir_version = 1;
		mp->ir_version = ir;
	}
	return 0;
}
