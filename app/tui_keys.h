/* tui_keys.h — scripted input for the headless TUI (QSCOPE_TUI_KEYS):
 * plain characters are keys; <Name> tokens name the others:
 *   <Enter> <Esc> <Up> <Down> <Left> <Right> <PgUp> <PgDn> <Home> <End>
 *   <Tab> <Space> <BS> <C-r> <F1> <lt> (a literal '<')
 *   <click:X,Y> <wheelup:X,Y> <wheeldown:X,Y>   mouse at cell X,Y
 *   <resize:WxH>                                 terminal resize
 *   <dump:PATH>                                  write the screen as text
 * An unknown or malformed token is taken as the literal characters.
 */
#ifndef QS_TUI_KEYS_H
#define QS_TUI_KEYS_H

#include "../views/view.h"

enum tui_tok_kind {
	TOK_INPUT,
	TOK_RESIZE,
	TOK_DUMP
};

struct tui_token {
	enum tui_tok_kind kind;
	struct input in;
	int w, h;
	char path[256];
};

/* Parse the token at p; returns the position after it, or NULL at the end. */
const char *tui_keys_next(const char *p, struct tui_token *tok);

#endif
