#include "grid.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct grid *grid_new(int w, int h, bool utf8)
{
	struct grid *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->utf8 = utf8;
	if (grid_resize(g, w, h) != 0) {
		free(g);
		return NULL;
	}
	return g;
}

void grid_free(struct grid *g)
{
	if (!g)
		return;
	free(g->cells);
	free(g);
}

int grid_resize(struct grid *g, int w, int h)
{
	if (w <= 0 || h <= 0 || w > 4096 || h > 4096)
		return -1;
	struct cell *c = calloc((size_t)w * (size_t)h, sizeof *c);
	if (!c)
		return -1;
	free(g->cells);
	g->cells = c;
	g->w = w;
	g->h = h;
	grid_clear(g);
	return 0;
}

void grid_unclip(struct grid *g)
{
	g->cx0 = 0;
	g->cy0 = 0;
	g->cx1 = g->w;
	g->cy1 = g->h;
}

void grid_clear(struct grid *g)
{
	for (size_t i = 0; i < (size_t)g->w * (size_t)g->h; i++)
		g->cells[i] = (struct cell){' ', ST_NORMAL};
	grid_unclip(g);
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void grid_clip(struct grid *g, int x, int y, int w, int h)
{
	g->cx0 = clampi(x, 0, g->w);
	g->cy0 = clampi(y, 0, g->h);
	g->cx1 = clampi(x + w, g->cx0, g->w);
	g->cy1 = clampi(y + h, g->cy0, g->h);
}

/* UTF-8 glyph and its ASCII stand-in, indexed by enum glyph. */
static const struct {
	uint32_t utf8, ascii;
} glyphs[GL_COUNT] = {
        [GL_HLINE] = {0x2500, '-'}, [GL_VLINE] = {0x2502, '|'}, [GL_TL] = {0x250c, '+'},
        [GL_TR] = {0x2510, '+'},    [GL_BL] = {0x2514, '+'},    [GL_BR] = {0x2518, '+'},
        [GL_ARROW] = {0x2192, '>'}, [GL_UP] = {0x25b2, '^'},    [GL_DOWN] = {0x25bc, 'v'},
        [GL_FULL] = {0x2588, '#'},  [GL_SHADE] = {0x2591, '.'}, [GL_TICK] = {0x2534, '+'},
};

uint32_t grid_glyph(const struct grid *g, enum glyph gl)
{
	return g->utf8 ? glyphs[gl].utf8 : glyphs[gl].ascii;
}

uint32_t grid_vblock(const struct grid *g, int k)
{
	static const char ascii[9] = " ..::||##";
	k = clampi(k, 0, 8);
	if (!g->utf8)
		return (uint32_t)ascii[k];
	return k == 0 ? ' ' : 0x2580 + (uint32_t)k; /* U+2581..U+2588 */
}

uint32_t grid_hblock(const struct grid *g, int k)
{
	static const char ascii[9] = "    ====#";
	k = clampi(k, 0, 8);
	if (!g->utf8)
		return (uint32_t)(k >= 4 && k < 8 ? '=' : ascii[k]);
	if (k == 0)
		return ' ';
	return k == 8 ? 0x2588 : 0x2590 - (uint32_t)k; /* ▏ U+258F .. ▉ U+2589 */
}

static bool inside(const struct grid *g, int x, int y)
{
	return x >= g->cx0 && x < g->cx1 && y >= g->cy0 && y < g->cy1;
}

void grid_put(struct grid *g, int x, int y, uint32_t ch, int style)
{
	if (inside(g, x, y))
		g->cells[(size_t)y * (size_t)g->w + (size_t)x] = (struct cell){ch, (uint8_t)style};
}

const struct cell *grid_at(const struct grid *g, int x, int y)
{
	if (x < 0 || y < 0 || x >= g->w || y >= g->h)
		return NULL;
	return &g->cells[(size_t)y * (size_t)g->w + (size_t)x];
}

void grid_style(struct grid *g, int x, int y, int w, int style)
{
	for (int i = 0; i < w; i++)
		if (inside(g, x + i, y))
			g->cells[(size_t)y * (size_t)g->w + (size_t)(x + i)].style = (uint8_t)style;
}

void grid_fill(struct grid *g, int x, int y, int w, int h, uint32_t ch, int style)
{
	for (int r = 0; r < h; r++)
		for (int c = 0; c < w; c++)
			grid_put(g, x + c, y + r, ch, style);
}

int grid_utf8_decode(const char *s, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	int len;
	uint32_t v;
	if (u[0] == 0) {
		*cp = 0;
		return 0;
	}
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		len = 2;
		v = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3;
		v = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		len = 4;
		v = u[0] & 0x07;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (int i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return i;
		}
		v = (v << 6) | (u[i] & 0x3f);
	}
	*cp = v;
	return len;
}

int grid_text_width(const char *s)
{
	int n = 0, k;
	uint32_t cp;
	while ((k = grid_utf8_decode(s, &cp)) > 0) {
		s += k;
		n++;
	}
	return n;
}

int grid_text(struct grid *g, int x, int y, int maxw, int style, const char *s)
{
	if (maxw < 0)
		maxw = g->w - x;
	int total = grid_text_width(s), col = 0, k;
	uint32_t cp;
	while (col < maxw && (k = grid_utf8_decode(s, &cp)) > 0) {
		s += k;
		if (total > maxw && col == maxw - 1)
			cp = g->utf8 ? 0x2026 : '~';
		if (cp < 0x20 || cp == 0x7f)
			cp = '?';
		grid_put(g, x + col, y, cp, style);
		col++;
	}
	return col;
}

int grid_printf(struct grid *g, int x, int y, int maxw, int style, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return grid_text(g, x, y, maxw, style, buf);
}

int grid_text_right(struct grid *g, int x, int y, int w, int style, const char *s)
{
	int tw = grid_text_width(s);
	if (tw > w)
		return grid_text(g, x, y, w, style, s);
	return grid_text(g, x + w - tw, y, tw, style, s);
}

void grid_hline(struct grid *g, int x, int y, int w, int style)
{
	grid_fill(g, x, y, w, 1, grid_glyph(g, GL_HLINE), style);
}

void grid_box(struct grid *g, int x, int y, int w, int h, int style, const char *title)
{
	if (w < 2 || h < 2)
		return;
	grid_fill(g, x, y, w, h, ' ', style);
	grid_hline(g, x + 1, y, w - 2, style);
	grid_hline(g, x + 1, y + h - 1, w - 2, style);
	grid_fill(g, x, y + 1, 1, h - 2, grid_glyph(g, GL_VLINE), style);
	grid_fill(g, x + w - 1, y + 1, 1, h - 2, grid_glyph(g, GL_VLINE), style);
	grid_put(g, x, y, grid_glyph(g, GL_TL), style);
	grid_put(g, x + w - 1, y, grid_glyph(g, GL_TR), style);
	grid_put(g, x, y + h - 1, grid_glyph(g, GL_BL), style);
	grid_put(g, x + w - 1, y + h - 1, grid_glyph(g, GL_BR), style);
	if (title && *title && w > 6) {
		grid_put(g, x + 1, y, ' ', style);
		int n = grid_text(g, x + 2, y, w - 5, style, title);
		grid_put(g, x + 2 + n, y, ' ', style);
	}
}

/* A growable string; abort-free: on allocation failure the result is NULL. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool bad;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->bad = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_cp(struct sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_add(b, u, n);
}

static char *sb_done(struct sbuf *b)
{
	if (b->bad) {
		free(b->p);
		return NULL;
	}
	if (!b->p)
		sb_add(b, "", 0);
	return b->p;
}

char *grid_to_text(const struct grid *g)
{
	struct sbuf b = {0};
	for (int y = 0; y < g->h; y++) {
		const struct cell *row = &g->cells[(size_t)y * (size_t)g->w];
		int end = g->w;
		while (end > 0 && row[end - 1].ch == ' ')
			end--;
		for (int x = 0; x < end; x++)
			sb_cp(&b, row[x].ch);
		sb_add(&b, "\n", 1);
	}
	return sb_done(&b);
}

/* SVG colours per style: foreground and background ("" = none). */
static const struct {
	const char *fg, *bg;
} svg_style[ST_COUNT] = {
        [ST_NORMAL] = {"#d0d0d0", ""},       [ST_HEADER] = {"#ffffff", "#30304a"},
        [ST_TITLE] = {"#000000", "#5fafd7"}, [ST_SELECTED] = {"#000000", "#d0d0d0"},
        [ST_MARKED] = {"#ffd75f", ""},       [ST_OK] = {"#87d787", ""},
        [ST_WARN] = {"#ffd75f", ""},         [ST_RISK] = {"#ff5f5f", ""},
        [ST_DIM] = {"#808080", ""},          [ST_STATUS] = {"#d0d0d0", "#303030"},
        [ST_ERROR] = {"#ffffff", "#af0000"}, [ST_KEY] = {"#000000", "#5fafd7"},
        [ST_BAR] = {"#5fafd7", ""},          [ST_GRID] = {"#af87ff", ""},
        [ST_CLIP] = {"#ff5f5f", ""},         [ST_DIALOG] = {"#ffffff", "#303060"},
        [ST_FIELD] = {"#000000", "#ffd75f"},
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void svg_escape_cp(struct sbuf *b, uint32_t cp)
{
	if (cp == '<')
		sb_add(b, "&lt;", 4);
	else if (cp == '>')
		sb_add(b, "&gt;", 4);
	else if (cp == '&')
		sb_add(b, "&amp;", 5);
	else
		sb_cp(b, cp);
}

char *grid_to_svg(const struct grid *g, int cw, int ch)
{
	struct sbuf b = {0};
	sb_printf(&b,
	          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	          "font-family=\"monospace\" font-size=\"%d\">\n",
	          g->w * cw, g->h * ch, ch * 5 / 6);
	sb_printf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"#1c1c1c\"/>\n");
	for (int y = 0; y < g->h; y++)
		for (int x = 0; x < g->w; x++) {
			const struct cell *c = grid_at(g, x, y);
			int st = c->style < ST_COUNT ? c->style : ST_NORMAL;
			if (svg_style[st].bg[0])
				sb_printf(&b,
				          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				          "fill=\"%s\"/>\n",
				          x * cw, y * ch, cw, ch, svg_style[st].bg);
			if (c->ch == ' ')
				continue;
			sb_printf(&b, "<text x=\"%d\" y=\"%d\" fill=\"%s\">", x * cw,
			          y * ch + ch * 4 / 5, svg_style[st].fg);
			svg_escape_cp(&b, c->ch);
			sb_add(&b, "</text>\n", 8);
		}
	sb_add(&b, "</svg>\n", 7);
	return sb_done(&b);
}
