/* The floor under `lstore commit --file` of the half set (issue 10): the rows a pending
** commit of N events must write, written by C with nothing else to do.
**
**   cc -O2 -o write_floor benchmarks/write_floor.c -lsqlite3
**   write_floor STATE_DB EVENTLOG_DB N
**
** STATE_DB and EVENTLOG_DB are the files of a store `lstore init` just made (so the tables,
** indexes and page size are LiveStore's, as lstore writes them). In one transaction, with a
** replica's settings (rollback journal, 16 MiB state cache, 4 MiB eventlog cache), event i
** is, as in the half set, an INSERT of a todo (even i) or the UPDATE completing it (odd i),
** then its session changeset row (a blob of the size lstore records) and its eventlog row,
** both 32 rows to a statement (INSERT OR FAIL), which is the cheapest way lstore found.
** There is no JSON to parse, no args to check and no changeset to compute: only the writes,
** so lstore's time over this one is what everything else costs.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 32

static void check(sqlite3 *db, int rc, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "write_floor: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *head, const char *row, int rows) {
  size_t size = strlen(head) + (strlen(row) + 2) * rows + 1;
  char *sql = malloc(size);
  strcpy(sql, head);
  for (int i = 0; i < rows; i++) {
    if (i) strcat(sql, ", ");
    strcat(sql, row);
  }
  sqlite3_stmt *statement;
  check(db, sqlite3_prepare_v2(db, sql, -1, &statement, 0), sql);
  free(sql);
  return statement;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: write_floor STATE_DB EVENTLOG_DB N\n");
    return 64;
  }
  int n = atoi(argv[3]);
  sqlite3 *db;
  check(db, sqlite3_open(argv[1], &db), "open");
  char attach[4096];
  snprintf(attach, sizeof attach, "ATTACH DATABASE '%s' AS log", argv[2]);
  check(db, sqlite3_exec(db, attach, 0, 0, 0), "attach");
  check(db, sqlite3_exec(db, "PRAGMA cache_size=-16384; PRAGMA log.cache_size=-4096", 0, 0, 0), "pragmas");

  sqlite3_stmt *insert = prepare(db, "INSERT INTO todos (id, text, completed) VALUES ", "(?, ?, 0)", 1);
  sqlite3_stmt *complete = prepare(db, "UPDATE todos SET completed = 1 WHERE id = ?", "", 0);
  sqlite3_stmt *changesets = prepare(db,
    "INSERT OR FAIL INTO __livestore_session_changeset (seqNumGlobal, seqNumClient, changeset, debug) VALUES ",
    "(?, ?, ?, NULL)", BATCH);
  sqlite3_stmt *events = prepare(db,
    "INSERT OR FAIL INTO log.eventlog (seqNumGlobal, seqNumClient, parentSeqNumGlobal, parentSeqNumClient, name, argsJson,"
    " clientId, sessionId, schemaHash, syncMetadataJson) VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", BATCH);

  /* The size of what lstore records for these events: 47 to 51 bytes each. */
  unsigned char blob[64];
  memset(blob, 0x17, sizeof blob);
  static char args[BATCH][96], ids[32], texts[32];
  check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), "begin");
  for (int i = 0; i < n; i++) {
    int todo = i / 2, slot = i % BATCH;
    snprintf(ids, sizeof ids, "todo-%07d", todo);
    if (i % 2 == 0) {
      snprintf(texts, sizeof texts, "task %d", todo);
      sqlite3_bind_text(insert, 1, ids, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 2, texts, -1, SQLITE_TRANSIENT);
      check(db, sqlite3_step(insert), "materializer insert");
      sqlite3_reset(insert);
      snprintf(args[slot], sizeof args[slot], "{\"id\":\"%s\",\"text\":\"%s\"}", ids, texts);
    } else {
      sqlite3_bind_text(complete, 1, ids, -1, SQLITE_TRANSIENT);
      check(db, sqlite3_step(complete), "materializer update");
      sqlite3_reset(complete);
      snprintf(args[slot], sizeof args[slot], "{\"id\":\"%s\"}", ids);
    }
    int c = slot * 3, e = slot * 10;
    sqlite3_bind_int64(changesets, c + 1, i + 1);
    sqlite3_bind_int64(changesets, c + 2, 0);
    sqlite3_bind_blob(changesets, c + 3, blob, i % 2 ? 49 : 51, SQLITE_TRANSIENT);
    sqlite3_bind_int64(events, e + 1, i + 1);
    sqlite3_bind_int64(events, e + 2, 0);
    sqlite3_bind_int64(events, e + 3, i);
    sqlite3_bind_int64(events, e + 4, 0);
    sqlite3_bind_text(events, e + 5, i % 2 ? "v1.TodoCompleted" : "v1.TodoCreated", -1, SQLITE_STATIC);
    sqlite3_bind_text(events, e + 6, args[slot], -1, SQLITE_STATIC);
    sqlite3_bind_text(events, e + 7, "client-floor", -1, SQLITE_STATIC);
    sqlite3_bind_text(events, e + 8, "session-floor", -1, SQLITE_STATIC);
    sqlite3_bind_int64(events, e + 9, 1234567);
    sqlite3_bind_text(events, e + 10, "{\"_tag\":\"None\"}", -1, SQLITE_STATIC);
    if (slot == BATCH - 1 || i == n - 1) {
      if (slot != BATCH - 1) {
        /* The last, partial batch: a statement of its own size. */
        sqlite3_finalize(changesets);
        sqlite3_finalize(events);
        changesets = prepare(db, "INSERT INTO __livestore_session_changeset (seqNumGlobal, seqNumClient, changeset, debug) VALUES ",
                             "(?, ?, ?, NULL)", slot + 1);
        events = prepare(db, "INSERT INTO log.eventlog (seqNumGlobal, seqNumClient, parentSeqNumGlobal, parentSeqNumClient,"
                         " name, argsJson, clientId, sessionId, schemaHash, syncMetadataJson) VALUES ",
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", slot + 1);
        for (int k = 0; k <= slot; k++) {
          int j = i - slot + k;
          sqlite3_bind_int64(changesets, k * 3 + 1, j + 1);
          sqlite3_bind_int64(changesets, k * 3 + 2, 0);
          sqlite3_bind_blob(changesets, k * 3 + 3, blob, j % 2 ? 49 : 51, SQLITE_TRANSIENT);
          sqlite3_bind_int64(events, k * 10 + 1, j + 1);
          sqlite3_bind_int64(events, k * 10 + 2, 0);
          sqlite3_bind_int64(events, k * 10 + 3, j);
          sqlite3_bind_int64(events, k * 10 + 4, 0);
          sqlite3_bind_text(events, k * 10 + 5, j % 2 ? "v1.TodoCompleted" : "v1.TodoCreated", -1, SQLITE_STATIC);
          sqlite3_bind_text(events, k * 10 + 6, args[k], -1, SQLITE_STATIC);
          sqlite3_bind_text(events, k * 10 + 7, "client-floor", -1, SQLITE_STATIC);
          sqlite3_bind_text(events, k * 10 + 8, "session-floor", -1, SQLITE_STATIC);
          sqlite3_bind_int64(events, k * 10 + 9, 1234567);
          sqlite3_bind_text(events, k * 10 + 10, "{\"_tag\":\"None\"}", -1, SQLITE_STATIC);
        }
      }
      check(db, sqlite3_step(changesets), "changeset rows");
      sqlite3_reset(changesets);
      check(db, sqlite3_step(events), "eventlog rows");
      sqlite3_reset(events);
    }
  }
  check(db, sqlite3_exec(db, "COMMIT", 0, 0, 0), "commit");
  sqlite3_finalize(insert);
  sqlite3_finalize(complete);
  sqlite3_finalize(changesets);
  sqlite3_finalize(events);
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
