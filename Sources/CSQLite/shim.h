#ifndef LSTORE_CSQLITE_SHIM_H
#define LSTORE_CSQLITE_SHIM_H
// The session extension and the pre-update hook are compiled into Debian's libsqlite3,
// but their declarations are only visible when these macros are set before the include.
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type lstore_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// Memory statistics cost a global mutex on every allocation; lstore never reads them.
// Must run before the library is initialized (the first connection opened).
//
// (A larger statement-journal spill threshold, SQLITE_CONFIG_STMTJRNL_SPILL, kept a
// rebase's per-step savepoint journals off the disk, but with SQLite 3.40.1 any threshold
// above the default 64 KiB made a large UPDATE in a long transaction fail with "database or
// disk is full" once its journal spilled: not used.)
static inline int lstore_sqlite_disable_memory_statistics(void) {
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
