/* tui.h — the interactive workbench. tui_run takes over the terminal
 * (ncurses), shows the session's tensor table and its views until the user
 * quits, restores the terminal and returns the process exit code (0 on a
 * normal quit). The session is borrowed; edits made in the UI stay in it.
 */
#ifndef QS_TUI_H
#define QS_TUI_H

struct session;

int tui_run(struct session *s);

#endif
