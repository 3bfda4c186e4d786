#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

static const char *const req_helps[REQ_COUNT] = {
#define X(id, h) [id] = h,
        VIEW_REQUESTS(X)
#undef X
};

const char *view_req_help(enum view_req r)
{
	return r > REQ_NONE && r < REQ_COUNT ? req_helps[r] : NULL;
}

#define CTRL(c) ((c)&0x1f)

static const struct key_binding bindings[] = {
        {KEY_UP, REQ_UP, "Up"},
        {'k', REQ_UP, "k"},
        {KEY_DOWN, REQ_DOWN, "Down"},
        {'j', REQ_DOWN, "j"},
        {KEY_PPAGE, REQ_PGUP, "PgUp"},
        {KEY_NPAGE, REQ_PGDN, "PgDn"},
        {KEY_HOME, REQ_HOME, "Home"},
        {'g', REQ_HOME, "g"},
        {KEY_END, REQ_END, "End"},
        {'G', REQ_END, "G"},
        {KEY_LEFT, REQ_LEFT, "Left"},
        {'h', REQ_LEFT, "h"},
        {KEY_RIGHT, REQ_RIGHT, "Right"},
        {'l', REQ_RIGHT, "l"},
        {'\r', REQ_ENTER, "Enter"},
        {'\n', REQ_ENTER, NULL},
        {KEY_ENTER, REQ_ENTER, NULL},
        {27, REQ_BACK, "Esc"},
        {'\t', REQ_TAB, "Tab"},
        {'/', REQ_FILTER, "/"},
        {'s', REQ_SORT, "s"},
        {'S', REQ_SORT_REV, "S"},
        {' ', REQ_MARK, "Space"},
        {'a', REQ_MARK_ALL, "a"},
        {'m', REQ_RETUNE, "m"},
        {'u', REQ_UNDO, "u"},
        {CTRL('r'), REQ_REDO, "C-r"},
        {'c', REQ_COMPARE, "c"},
        {'v', REQ_SHOW, "v"},
        {'[', REQ_PREV, "["},
        {']', REQ_NEXT, "]"},
        {'L', REQ_LOG, "L"},
        {'x', REQ_STRIP, "x"},
        {'e', REQ_EXPORT, "e"},
        {'w', REQ_WRITE, "w"},
        {'r', REQ_RECIPE, "r"},
        {'p', REQ_SNAPSHOT, "p"},
        {'R', REQ_LOAD_RECIPE, "R"},
        {'?', REQ_HELP, "?"},
        {KEY_F(1), REQ_HELP, "F1"},
        {'q', REQ_QUIT, "q"},
        {KEY_BACKSPACE, REQ_BACKSPACE, NULL},
        {127, REQ_BACKSPACE, NULL},
        {CTRL('h'), REQ_BACKSPACE, NULL},
};

enum view_req view_key_req(int key)
{
	for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++)
		if (bindings[i].key == key)
			return bindings[i].req;
	return REQ_NONE;
}

size_t view_key_count(void)
{
	return sizeof bindings / sizeof bindings[0];
}

const struct key_binding *view_key_at(size_t i)
{
	return i < view_key_count() ? &bindings[i] : NULL;
}

const char *view_req_keys(enum view_req r, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 0; i < view_key_count() && n + 1 < len; i++)
		if (bindings[i].req == r && bindings[i].name) {
			int k = snprintf(buf + n, len - n, "%s%s", n ? " " : "", bindings[i].name);
			n += k > 0 ? (size_t)k : 0;
		}
	return buf;
}
