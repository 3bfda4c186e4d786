#include <jansson.h>
#include <math.h>
#include <string.h>

#include "../io/model.h"
#include "../io/report.h"
#include "batch.h"

static const char *role_names[] = {"other", "weight", "bias"};

static void quant_range(const struct tensor_quant *q, double *smin, double *smax, int32_t *zmin,
                        int32_t *zmax)
{
	*smin = INFINITY;
	*smax = -INFINITY;
	*zmin = INT32_MAX;
	*zmax = INT32_MIN;
	for (uint64_t g = 0; g < q->layout.ngroups; g++) {
		double s = q->scale[g];
		int32_t z = q->zero_point ? q->zero_point[g] : 0;
		*smin = s < *smin ? s : *smin;
		*smax = s > *smax ? s : *smax;
		*zmin = z < *zmin ? z : *zmin;
		*zmax = z > *zmax ? z : *zmax;
	}
}

static const char *gran_text(const struct layout *l, char *buf, size_t len)
{
	if (l->gran == GRAN_TENSOR)
		snprintf(buf, len, "tensor");
	else if (l->gran == GRAN_CHANNEL)
		snprintf(buf, len, "channel:%d", l->axis);
	else
		snprintf(buf, len, "group:%llu@%d", (unsigned long long)l->block, l->axis);
	return buf;
}

static void print_quant(FILE *f, const struct model_tensor *t)
{
	char g[48];
	double smin, smax;
	int32_t zmin, zmax;

	if (t->block)
		fprintf(f, "  block %s (%u per %u bytes)", t->block->name, t->block->block_elems,
		        t->block->block_bytes);
	if (!t->quant)
		return;
	quant_range(t->quant, &smin, &smax, &zmin, &zmax);
	fprintf(f, "  quant %d-bit [%d, %d] %s scale %.6g..%.6g zero_point %d..%d", t->quant->bits,
	        t->quant->qmin, t->quant->qmax, gran_text(&t->quant->layout, g, sizeof g), smin,
	        smax, zmin, zmax);
	if (t->quant->float_name)
		fprintf(f, "  approximates %s", t->quant->float_name);
}

static void print_facts(FILE *f, const struct graph_facts *g)
{
	if (g->role == ROLE_OTHER && !g->op_type)
		return;
	fprintf(f, "  %s", role_names[g->role]);
	if (g->op_type)
		fprintf(f, " of %s", g->op_type);
	if (g->out_axis >= 0)
		fprintf(f, " axis %d", g->out_axis);
	if (g->reduce_k > 0)
		fprintf(f, " K %lld", (long long)g->reduce_k);
	if (g->has_input)
		fprintf(f, " input scale %.6g codes [%d, %d]", g->s_in, g->x_qmin, g->x_qmax);
}

static void print_tensor(FILE *f, const struct model_tensor *t)
{
	char shape[256];

	report_format_shape(t->shape, t->ndim, shape, sizeof shape);
	fprintf(f, "%-40s %-8s %-18s %12llu", t->name, dtype_name(t->dtype), shape,
	        (unsigned long long)t->nelem);
	print_quant(f, t);
	print_facts(f, &t->facts);
	if (t->is_aux)
		fprintf(f, "  (auxiliary)");
	else if (!model_tensor_analysable(t))
		fprintf(f, "  (not analysed)");
	fputc('\n', f);
}

static json_t *tensor_json(const struct model_tensor *t)
{
	json_t *o = json_object(), *shape = json_array();

	for (int d = 0; d < t->ndim; d++)
		json_array_append_new(shape, json_integer(t->shape[d]));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "dtype", json_string(dtype_name(t->dtype)));
	json_object_set_new(o, "shape", shape);
	json_object_set_new(o, "elements", json_integer((json_int_t)t->nelem));
	json_object_set_new(o, "analysable", json_boolean(model_tensor_analysable(t)));
	json_object_set_new(o, "auxiliary", json_boolean(t->is_aux));
	json_object_set_new(o, "role", json_string(role_names[t->facts.role]));
	if (t->facts.op_type)
		json_object_set_new(o, "op", json_string(t->facts.op_type));
	if (t->block)
		json_object_set_new(o, "block", json_string(t->block->name));
	if (t->quant) {
		double smin, smax;
		int32_t zmin, zmax;
		quant_range(t->quant, &smin, &smax, &zmin, &zmax);
		json_object_set_new(o, "bits", json_integer(t->quant->bits));
		json_object_set_new(o, "qmin", json_integer(t->quant->qmin));
		json_object_set_new(o, "qmax", json_integer(t->quant->qmax));
		json_object_set_new(o, "groups",
		                    json_integer((json_int_t)t->quant->layout.ngroups));
		json_object_set_new(o, "scale_min", isfinite(smin) ? json_real(smin) : json_null());
		json_object_set_new(o, "scale_max", isfinite(smax) ? json_real(smax) : json_null());
		json_object_set_new(o, "zero_point_min", json_integer(zmin));
		json_object_set_new(o, "zero_point_max", json_integer(zmax));
		if (t->quant->float_name)
			json_object_set_new(o, "float_name", json_string(t->quant->float_name));
	}
	return o;
}

static void inspect_json(const struct model *m)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "path", json_string(m->path));
	json_object_set_new(root, "format", json_string(m->ops ? m->ops->name : "?"));
	for (size_t i = 0; i < m->ntensors; i++)
		json_array_append_new(arr, tensor_json(&m->tensors[i]));
	json_object_set_new(root, "tensors", arr);
	json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	fputc('\n', stdout);
	json_decref(root);
}

int batch_inspect(const struct cli_args *a)
{
	struct model *m = NULL;
	struct qs_error err = {0};

	if (a->format == FORMAT_CSV) {
		qs_error_set(&err, QS_ERR_USAGE, "option '--format': inspect writes table or json");
		return batch_fail(&err, a->cmd);
	}
	if (model_load(a->pos[0], &m, &err))
		return batch_fail(&err, a->cmd);
	if (a->format == FORMAT_JSON) {
		inspect_json(m);
	} else {
		size_t quant = 0, analysable = 0;
		for (size_t i = 0; i < m->ntensors; i++) {
			quant += m->tensors[i].quant || m->tensors[i].block;
			analysable += model_tensor_analysable(&m->tensors[i]);
		}
		printf("%s: %s, %zu tensors (%zu analysed, %zu quantized)\n", m->path,
		       m->ops ? m->ops->name : "?", m->ntensors, analysable, quant);
		for (size_t i = 0; i < m->ntensors; i++)
			print_tensor(stdout, &m->tensors[i]);
	}
	model_free(m);
	return EXIT_OK;
}
