/* Small dialogs: a one-line text prompt (filter, file names) and a yes/no
 * confirmation, both drawn over the view below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

struct prompt_state {
	struct wb *wb;
	enum prompt_purpose purpose;
	char title[96];
	char text[256];
	char saved[128]; /* the filter before editing, restored on Esc */
	size_t len;
};

static int prompt_open(struct view *v, const struct view_args *a)
{
	struct prompt_state *p = calloc(1, sizeof *p);
	if (!p)
		return -1;
	p->wb = v->wb;
	p->purpose = a->purpose;
	snprintf(p->title, sizeof p->title, "%s", a->title ? a->title : "Input");
	snprintf(p->text, sizeof p->text, "%s", a->initial ? a->initial : "");
	snprintf(p->saved, sizeof p->saved, "%s", v->wb->filter);
	p->len = strlen(p->text);
	v->st = p;
	return 0;
}

static void prompt_close(struct view *v)
{
	free(v->st);
}

static void live_filter(struct prompt_state *p)
{
	if (p->purpose != PROMPT_FILTER)
		return;
	snprintf(p->wb->filter, sizeof p->wb->filter, "%.127s", p->text);
	p->wb->filter_gen++;
}

static void prompt_draw(struct view *v, struct grid *g)
{
	struct prompt_state *p = v->st;
	int w = v->w - 8 < 72 ? v->w - 8 : 72, h = p->purpose == PROMPT_EXPORT ? 6 : 5;
	int x = v->x + (v->w - w) / 2, y = v->y + v->h - h - 1;
	grid_box(g, x, y, w, h, ST_DIALOG, p->title);
	int tw = w - 4, off = (int)p->len > tw - 1 ? (int)p->len - (tw - 1) : 0;
	grid_fill(g, x + 2, y + 1, tw, 1, ' ', ST_FIELD);
	grid_text(g, x + 2, y + 1, tw, ST_FIELD, p->text + off);
	grid_put(g, x + 2 + (int)p->len - off, y + 1, '_', ST_FIELD);
	if (p->purpose == PROMPT_EXPORT) {
		char ch[300];
		const char *dot = strrchr(p->text, '.');
		int stem = dot ? (int)(dot - p->text) : (int)p->len;
		snprintf(ch, sizeof ch, "per-channel: %.*s_channels%s", stem, p->text,
		         dot ? dot : "");
		grid_text(g, x + 2, y + 2, tw, ST_DIALOG, ch);
	}
	grid_text(g, x + 2, y + h - 2, tw, ST_DIM,
	          p->purpose == PROMPT_FILTER ? "type to filter  Enter keep  Esc clear"
	                                      : "Enter confirm  Esc cancel  Backspace delete");
}

static void prompt_handle(struct view *v, const struct input *in, struct action *out)
{
	struct prompt_state *p = v->st;
	out->kind = ACT_NONE;
	if (in->kind != IN_KEY)
		return;
	if (in->req == REQ_ENTER) {
		out->kind = p->purpose == PROMPT_FILTER ? ACT_CLOSE : ACT_PATH;
		out->purpose = p->purpose;
		snprintf(out->text, sizeof out->text, "%s", p->text);
	} else if (in->req == REQ_BACK) {
		if (p->purpose == PROMPT_FILTER) {
			snprintf(p->wb->filter, sizeof p->wb->filter, "%s", "");
			p->wb->filter_gen++;
		}
		out->kind = ACT_CLOSE;
	} else if (in->req == REQ_BACKSPACE) {
		if (p->len > 0)
			p->text[--p->len] = 0;
		live_filter(p);
	} else if (in->key >= 0x20 && in->key < 0x7f && p->len + 1 < sizeof p->text &&
	           (p->purpose != PROMPT_FILTER || p->len + 1 < sizeof p->wb->filter)) {
		p->text[p->len++] = (char)in->key;
		p->text[p->len] = 0;
		live_filter(p);
	}
}

const struct view_ops view_prompt_ops = {
        .name = "input",
        .dialog = true,
        .hints = "Enter confirm|Esc cancel|Backspace delete",
        .open = prompt_open,
        .close = prompt_close,
        .draw = prompt_draw,
        .handle = prompt_handle,
};

static int confirm_open(struct view *v, const struct view_args *a)
{
	char *msg = strdup(a->title ? a->title : "Are you sure?");
	if (!msg)
		return -1;
	v->st = msg;
	return 0;
}

static void confirm_close(struct view *v)
{
	free(v->st);
}

static void confirm_draw(struct view *v, struct grid *g)
{
	const char *msg = v->st;
	int w = v->w - 8 < 60 ? v->w - 8 : 60, h = 5;
	int x = v->x + (v->w - w) / 2, y = v->y + (v->h - h) / 2;
	grid_box(g, x, y, w, h, ST_DIALOG, "Quit");
	grid_text(g, x + 2, y + 1, w - 4, ST_DIALOG, msg);
	grid_text(g, x + 2, y + 3, w - 4, ST_DIM, "y quit   n / Esc stay");
}

static void confirm_handle(struct view *v, const struct input *in, struct action *out)
{
	(void)v;
	out->kind = ACT_NONE;
	if (in->kind != IN_KEY)
		return;
	if (in->key == 'y' || in->key == 'Y')
		out->kind = ACT_QUIT;
	else if (in->key == 'n' || in->key == 'N' || in->req == REQ_BACK)
		out->kind = ACT_CLOSE;
}

const struct view_ops view_confirm_ops = {
        .name = "quit?",
        .dialog = true,
        .hints = "y quit|n stay",
        .open = confirm_open,
        .close = confirm_close,
        .draw = confirm_draw,
        .handle = confirm_handle,
};
