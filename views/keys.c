#include <curses.h>

#include "view.h"

static const struct req_info req_infos[REQ_COUNT] = {
#define X(id, k, h) [id] = {k, h},
        VIEW_REQUESTS(X)
#undef X
};

const struct req_info *view_req_info(enum view_req r)
{
	if (r <= REQ_NONE || r >= REQ_COUNT || !req_infos[r].keys)
		return NULL;
	return &req_infos[r];
}

#define CTRL(c) ((c)&0x1f)

static const struct key_binding bindings[] = {
        {KEY_UP, REQ_UP},       {'k', REQ_UP},
        {KEY_DOWN, REQ_DOWN},   {'j', REQ_DOWN},
        {KEY_PPAGE, REQ_PGUP},  {KEY_NPAGE, REQ_PGDN},
        {KEY_HOME, REQ_HOME},   {'g', REQ_HOME},
        {KEY_END, REQ_END},     {'G', REQ_END},
        {KEY_LEFT, REQ_LEFT},   {'h', REQ_LEFT},
        {KEY_RIGHT, REQ_RIGHT}, {'l', REQ_RIGHT},
        {'\n', REQ_ENTER},      {'\r', REQ_ENTER},
        {KEY_ENTER, REQ_ENTER}, {27, REQ_BACK},
        {'\t', REQ_TAB},        {'/', REQ_FILTER},
        {'s', REQ_SORT},        {'S', REQ_SORT_REV},
        {' ', REQ_MARK},        {'a', REQ_MARK_ALL},
        {'m', REQ_RETUNE},      {'u', REQ_UNDO},
        {CTRL('r'), REQ_REDO},  {'c', REQ_COMPARE},
        {'v', REQ_SHOW},        {'L', REQ_LOG},
        {'x', REQ_STRIP},       {'e', REQ_EXPORT},
        {'w', REQ_WRITE},       {'r', REQ_RECIPE},
        {'?', REQ_HELP},        {KEY_F(1), REQ_HELP},
        {'q', REQ_QUIT},        {KEY_BACKSPACE, REQ_BACKSPACE},
        {127, REQ_BACKSPACE},   {CTRL('h'), REQ_BACKSPACE},
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
