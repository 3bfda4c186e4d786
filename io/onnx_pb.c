/* onnx_pb.c — building and editing protobuf-c ONNX messages. Everything is
 * malloc'd so that protobuf-c's free_unpacked (system allocator) frees
 * messages we built or edited together with the unpacked ones. */
#include <stdlib.h>
#include <string.h>

#include "onnx_impl.h"

void *onnx_xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *onnx_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = onnx_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

static char **strv_dup(const char *const *v, size_t n)
{
	char **d = onnx_xmalloc(n * sizeof *d);
	for (size_t i = 0; i < n; i++)
		d[i] = onnx_strdup(v[i]);
	return d;
}

static void *grow(void *arr, size_t n, size_t elem)
{
	void *p = realloc(arr, (n + 1) * elem);
	if (!p)
		abort();
	return p;
}

Onnx__TensorProto *onnx_pb_tensor(const char *name, int32_t dtype, const int64_t *dims, int ndim,
                                  const void *raw, size_t nbytes)
{
	Onnx__TensorProto *t = onnx_xmalloc(sizeof *t);
	onnx__tensor_proto__init(t);
	t->name = onnx_strdup(name);
	t->has_data_type = 1;
	t->data_type = dtype;
	t->n_dims = (size_t)ndim;
	if (ndim > 0) {
		t->dims = onnx_xmalloc((size_t)ndim * sizeof *t->dims);
		memcpy(t->dims, dims, (size_t)ndim * sizeof *t->dims);
	}
	t->has_raw_data = 1;
	t->raw_data.len = nbytes;
	t->raw_data.data = onnx_xmalloc(nbytes);
	if (nbytes)
		memcpy(t->raw_data.data, raw, nbytes);
	return t;
}

Onnx__NodeProto *onnx_pb_node(const char *op, const char *name, const char *const *in, size_t nin,
                              const char *const *out, size_t nout)
{
	Onnx__NodeProto *n = onnx_xmalloc(sizeof *n);
	onnx__node_proto__init(n);
	n->op_type = onnx_strdup(op);
	if (name)
		n->name = onnx_strdup(name);
	n->n_input = nin;
	n->input = strv_dup(in, nin);
	n->n_output = nout;
	n->output = strv_dup(out, nout);
	return n;
}

static Onnx__AttributeProto *attr_new(Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
	onnx_pb_node_remove_attr(n, name);
	Onnx__AttributeProto *a = onnx_xmalloc(sizeof *a);
	onnx__attribute_proto__init(a);
	a->name = onnx_strdup(name);
	a->has_type = 1;
	a->type = type;
	n->attribute = grow(n->attribute, n->n_attribute, sizeof *n->attribute);
	n->attribute[n->n_attribute++] = a;
	return a;
}

void onnx_pb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr_new(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	a->has_i = 1;
	a->i = v;
}

void onnx_pb_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t nv)
{
	Onnx__AttributeProto *a = attr_new(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	a->n_ints = nv;
	a->ints = onnx_xmalloc(nv * sizeof *a->ints);
	memcpy(a->ints, v, nv * sizeof *a->ints);
}

void onnx_pb_attr_float(Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = attr_new(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	a->has_f = 1;
	a->f = v;
}

void onnx_pb_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
	Onnx__AttributeProto *a = attr_new(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
	a->t = t;
}

void onnx_pb_node_remove_attr(Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++) {
		if (!n->attribute[i]->name || strcmp(n->attribute[i]->name, name))
			continue;
		onnx__attribute_proto__free_unpacked(n->attribute[i], onnx_allocator());
		memmove(&n->attribute[i], &n->attribute[i + 1],
		        (n->n_attribute - i - 1) * sizeof *n->attribute);
		n->n_attribute--;
		return;
	}
}

void onnx_pb_node_add_input(Onnx__NodeProto *n, const char *name)
{
	n->input = grow(n->input, n->n_input, sizeof *n->input);
	n->input[n->n_input++] = onnx_strdup(name);
}

void onnx_pb_graph_add_init(Onnx__GraphProto *g, Onnx__TensorProto *t)
{
	g->initializer = grow(g->initializer, g->n_initializer, sizeof *g->initializer);
	g->initializer[g->n_initializer++] = t;
}

void onnx_pb_graph_insert_node(Onnx__GraphProto *g, size_t pos, Onnx__NodeProto *n)
{
	g->node = grow(g->node, g->n_node, sizeof *g->node);
	if (pos > g->n_node)
		pos = g->n_node;
	memmove(&g->node[pos + 1], &g->node[pos], (g->n_node - pos) * sizeof *g->node);
	g->node[pos] = n;
	g->n_node++;
}

void onnx_pb_graph_remove_node(Onnx__GraphProto *g, size_t pos)
{
	onnx__node_proto__free_unpacked(g->node[pos], onnx_allocator());
	memmove(&g->node[pos], &g->node[pos + 1], (g->n_node - pos - 1) * sizeof *g->node);
	g->n_node--;
}

Onnx__ValueInfoProto *onnx_pb_value_info(const char *name, int32_t elem, const int64_t *dims,
                                         const char *const *dim_params, int ndim)
{
	Onnx__ValueInfoProto *v = onnx_xmalloc(sizeof *v);
	onnx__value_info_proto__init(v);
	v->name = onnx_strdup(name);
	Onnx__TypeProto *tp = onnx_xmalloc(sizeof *tp);
	onnx__type_proto__init(tp);
	Onnx__TypeProto__Tensor *tt = onnx_xmalloc(sizeof *tt);
	onnx__type_proto__tensor__init(tt);
	tt->has_elem_type = 1;
	tt->elem_type = elem;
	Onnx__TensorShapeProto *sh = onnx_xmalloc(sizeof *sh);
	onnx__tensor_shape_proto__init(sh);
	sh->n_dim = (size_t)ndim;
	sh->dim = onnx_xmalloc((size_t)ndim * sizeof *sh->dim);
	for (int i = 0; i < ndim; i++) {
		Onnx__TensorShapeProto__Dimension *d = onnx_xmalloc(sizeof *d);
		onnx__tensor_shape_proto__dimension__init(d);
		if (dim_params && dim_params[i]) {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d->dim_param = onnx_strdup(dim_params[i]);
		} else {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d->dim_value = dims[i];
		}
		sh->dim[i] = d;
	}
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	v->type = tp;
	return v;
}

void onnx_pb_set_opset(Onnx__ModelProto *mp, const char *domain, int64_t version)
{
	Onnx__OperatorSetIdProto *o = NULL;

	for (size_t i = 0; i < mp->n_opset_import && !o; i++) {
		const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
		if (!strcmp(d, "ai.onnx"))
			d = "";
		if (!strcmp(d, domain))
			o = mp->opset_import[i];
	}
	if (!o) {
		o = onnx_xmalloc(sizeof *o);
		onnx__operator_set_id_proto__init(o);
		o->domain = onnx_strdup(domain);
		mp->opset_import =
		        grow(mp->opset_import, mp->n_opset_import, sizeof *mp->opset_import);
		mp->opset_import[mp->n_opset_import++] = o;
	}
	o->has_version = 1;
	o->version = version;
}
