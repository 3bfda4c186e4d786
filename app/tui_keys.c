#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "tui_keys.h"

static const struct {
	const char *name;
	int key;
} key_names[] = {
        {"Enter", '\r'},       {"Esc", 27},          {"Up", KEY_UP},      {"Down", KEY_DOWN},
        {"Left", KEY_LEFT},    {"Right", KEY_RIGHT}, {"PgUp", KEY_PPAGE}, {"PgDn", KEY_NPAGE},
        {"Home", KEY_HOME},    {"End", KEY_END},     {"Tab", '\t'},       {"Space", ' '},
        {"BS", KEY_BACKSPACE}, {"C-r", 0x12},        {"F1", KEY_F(1)},    {"lt", '<'},
};

static const struct {
	const char *prefix;
	enum input_kind kind;
} mouse_names[] = {
        {"click:", IN_CLICK},
        {"wheelup:", IN_WHEEL_UP},
        {"wheeldown:", IN_WHEEL_DOWN},
};

static void key_token(struct tui_token *tok, int key)
{
	tok->kind = TOK_INPUT;
	tok->in = (struct input){.kind = IN_KEY, .key = key, .req = view_key_req(key)};
}

/* Parse "<name>" of length n (without the brackets); false when unknown. */
static bool named(const char *name, size_t n, struct tui_token *tok)
{
	char buf[300];
	if (n >= sizeof buf)
		return false;
	memcpy(buf, name, n);
	buf[n] = 0;
	for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
		if (strcmp(buf, key_names[i].name) == 0) {
			key_token(tok, key_names[i].key);
			return true;
		}
	for (size_t i = 0; i < sizeof mouse_names / sizeof mouse_names[0]; i++) {
		size_t k = strlen(mouse_names[i].prefix);
		int x, y;
		if (strncmp(buf, mouse_names[i].prefix, k) == 0 &&
		    sscanf(buf + k, "%d,%d", &x, &y) == 2) {
			tok->kind = TOK_INPUT;
			tok->in = (struct input){.kind = mouse_names[i].kind, .mx = x, .my = y};
			return true;
		}
	}
	if (sscanf(buf, "resize:%dx%d", &tok->w, &tok->h) == 2 && tok->w > 0 && tok->h > 0) {
		tok->kind = TOK_RESIZE;
		return true;
	}
	if (strncmp(buf, "dump:", 5) == 0 && buf[5]) {
		tok->kind = TOK_DUMP;
		snprintf(tok->path, sizeof tok->path, "%.255s", buf + 5);
		return true;
	}
	return false;
}

const char *tui_keys_next(const char *p, struct tui_token *tok)
{
	memset(tok, 0, sizeof *tok);
	if (!p || !*p)
		return NULL;
	if (*p == '<') {
		const char *end = strchr(p + 1, '>');
		if (end && named(p + 1, (size_t)(end - p - 1), tok))
			return end + 1;
	}
	key_token(tok, (unsigned char)*p);
	return p + 1;
}
