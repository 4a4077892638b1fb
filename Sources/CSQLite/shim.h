#ifndef LSTORE_CSQLITE_SHIM_H
#define LSTORE_CSQLITE_SHIM_H
// The session extension and the pre-update hook are compiled into Debian's libsqlite3,
// but their declarations are only visible when these macros are set before the include.
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type lstore_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// Process-wide settings; sqlite3_config is variadic, which Swift cannot call. Must run
// before the library is initialized (the first connection opened).
// - Memory statistics cost a global mutex on every allocation; lstore never reads them.
// - A savepoint's sub-journal (and a statement journal) stays in memory up to
//   `journal_spill` bytes before SQLite writes it to a temporary file. The default
//   (64 KiB) sent a rebase, whose every step is a savepoint, through tens of thousands
//   of temp-file writes; 2 MiB keeps a step (tens of pages) in memory and still bounds what a huge
//   step holds.
static inline int lstore_sqlite_configure(int journal_spill) {
  int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, journal_spill);
}
#endif
