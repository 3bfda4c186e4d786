/* grid.h — a plain cell grid that charts and screens draw into, without
 * curses. Each cell holds one Unicode code point (every code point we draw
 * occupies one terminal column) and a style id; the TUI blits the grid to
 * curses, tests render it to text and compare with golden screens.
 *
 * Coordinates are columns x (0 = left) and rows y (0 = top); writes outside
 * the grid (or outside the clip rectangle set by grid_clip) are dropped, so
 * drawing code never checks bounds itself.
 *
 * Glyphs: when the grid is not UTF-8 (grid.utf8 false, chosen by the caller
 * from the locale), box, block and arrow characters are replaced by ASCII
 * when drawn (grid_glyph), so the same drawing code serves both.
 *
 * Ownership: grid_new returns a grid freed with grid_free (NULL-safe).
 * grid_to_text / grid_to_svg return malloc'd strings the caller frees.
 */
#ifndef QS_GRID_H
#define QS_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Style ids; the TUI maps each to a colour pair (or a monochrome attribute),
 * SVG export to a colour. */
enum style_id {
	ST_NORMAL,
	ST_HEADER,   /* column headers, section titles */
	ST_TITLE,    /* the top bar */
	ST_SELECTED, /* the cursor row */
	ST_MARKED,   /* a marked row */
	ST_OK,
	ST_WARN,
	ST_RISK,
	ST_DIM,
	ST_STATUS, /* the status line */
	ST_ERROR,  /* an error in the status line */
	ST_KEY,    /* a key name in the hint bar */
	ST_BAR,    /* chart bars */
	ST_GRID,   /* quantization grid marks */
	ST_CLIP,   /* clip limits */
	ST_DIALOG, /* dialog body */
	ST_FIELD,  /* the focused dialog field */
	ST_COUNT
};

struct cell {
	uint32_t ch;
	uint8_t style;
};

struct grid {
	int w, h;
	bool utf8;
	int cx0, cy0, cx1, cy1; /* clip rectangle [cx0, cx1) × [cy0, cy1) */
	struct cell *cells;     /* w·h, row-major */
};

struct grid *grid_new(int w, int h, bool utf8);
void grid_free(struct grid *g);
/* Resize (contents cleared). Returns 0, or −1 when the size is not positive. */
int grid_resize(struct grid *g, int w, int h);
/* Every cell to a space in ST_NORMAL; clip reset to the whole grid. */
void grid_clear(struct grid *g);
/* Restrict writes to the rectangle (intersected with the grid);
 * grid_unclip restores the whole grid. */
void grid_clip(struct grid *g, int x, int y, int w, int h);
void grid_unclip(struct grid *g);

/* Named glyphs with an ASCII fallback (see grid_glyph). */
enum glyph {
	GL_HLINE,
	GL_VLINE,
	GL_TL,
	GL_TR,
	GL_BL,
	GL_BR,
	GL_ARROW, /* → */
	GL_UP,    /* ▲ */
	GL_DOWN,  /* ▼ */
	GL_FULL,  /* █ */
	GL_SHADE, /* ░ */
	GL_TICK,  /* ┴ */
	GL_COUNT
};
uint32_t grid_glyph(const struct grid *g, enum glyph gl);
/* The eighth-block for a fraction k/8 (k 0..8) vertical (▁..█) or
 * horizontal (▏..█), ASCII fallback when not UTF-8. */
uint32_t grid_vblock(const struct grid *g, int k);
uint32_t grid_hblock(const struct grid *g, int k);

void grid_put(struct grid *g, int x, int y, uint32_t ch, int style);
const struct cell *grid_at(const struct grid *g, int x, int y); /* NULL outside */
/* Set the style of cells without changing their characters. */
void grid_style(struct grid *g, int x, int y, int w, int style);
void grid_fill(struct grid *g, int x, int y, int w, int h, uint32_t ch, int style);
/* UTF-8 text at (x, y), at most maxw columns (maxw < 0: to the right edge);
 * text longer than maxw ends with '~' (or '…'). Returns columns written. */
int grid_text(struct grid *g, int x, int y, int maxw, int style, const char *s);
int grid_printf(struct grid *g, int x, int y, int maxw, int style, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* Text right-aligned so that it ends at column x + w − 1. */
int grid_text_right(struct grid *g, int x, int y, int w, int style, const char *s);
/* A single-line box; title (may be NULL) in its top edge. */
void grid_box(struct grid *g, int x, int y, int w, int h, int style, const char *title);
void grid_hline(struct grid *g, int x, int y, int w, int style);

/* Decode one UTF-8 sequence from s (replacement char on bad input);
 * returns the bytes consumed (0 at the terminating NUL). */
int grid_utf8_decode(const char *s, uint32_t *cp);
/* Number of code points (= columns) of a UTF-8 string. */
int grid_text_width(const char *s);

/* The grid as UTF-8 text, one line per row, trailing spaces trimmed, each
 * line ending in '\n'. */
char *grid_to_text(const struct grid *g);
/* The grid as a standalone SVG document (monospace text, a coloured rect
 * behind styled cells). cell_w/cell_h: pixel size of one cell. */
char *grid_to_svg(const struct grid *g, int cell_w, int cell_h);

#endif
